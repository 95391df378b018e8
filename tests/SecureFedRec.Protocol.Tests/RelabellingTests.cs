using FsCheck;
using FsCheck.Fluent;
using Google.Protobuf;
using SecureFedRec.Crypto;
using SecureFedRec.Protocol.Client;
using SecureFedRec.Protocol.Graph;
using SecureFedRec.Protocol.Internal;
using SecureFedRec.Protocol.Server;
using SecureFedRec.Protocol.Simulation;
using SecureFedRec.Protocol.Wire;
using GraphKind = SecureFedRec.Protocol.Graph.GraphKind;

namespace SecureFedRec.Protocol.Tests;

/// <summary>
/// The relabelling commit–reveal of Harary rounds (secagg.md §6.0a, graphs.md §1.3): every refusal of a bad commitment
/// or reveal on both sides, and the property that the permutation depends on every member's reveal but not on which
/// clients the coordinator lets drop after the reveal.
/// </summary>
public class RelabellingTests
{
    public enum RevealMutation
    {
        OtherMemberRevealChanged,
        OwnRevealChanged,
        RevealMissing,
        RevealReplayedUnderAnotherId,
        RevealFromAnotherRound,
        RevealFromAnotherSession,
        RevealTooShort,
        RevealsOutOfOrder,
        RevealRepeated,
        KeyListRepeatedInShareKeys,
    }

    public enum KeyListMutation
    {
        MemberMissing,
        CommitmentTooShort,
        CommitmentMissing,
        OwnCommitmentSubstituted,
        WrongRound,
    }

    [Theory]
    [InlineData(RevealMutation.OtherMemberRevealChanged, ClientAbortReason.WrongRelabelReveal)]
    [InlineData(RevealMutation.OwnRevealChanged, ClientAbortReason.WrongRelabelReveal)]
    [InlineData(RevealMutation.RevealMissing, ClientAbortReason.MissingRelabelReveal)]
    [InlineData(RevealMutation.RevealReplayedUnderAnotherId, ClientAbortReason.WrongRelabelReveal)]
    [InlineData(RevealMutation.RevealFromAnotherRound, ClientAbortReason.WrongSession)]
    [InlineData(RevealMutation.RevealFromAnotherSession, ClientAbortReason.WrongRelabelReveal)]
    [InlineData(RevealMutation.RevealTooShort, ClientAbortReason.MalformedMessage)]
    [InlineData(RevealMutation.RevealsOutOfOrder, ClientAbortReason.UnknownOrDuplicateClient)]
    [InlineData(RevealMutation.RevealRepeated, ClientAbortReason.UnknownOrDuplicateClient)]
    [InlineData(RevealMutation.KeyListRepeatedInShareKeys, ClientAbortReason.MalformedMessage)]
    public void A_client_refuses_bad_reveals_before_sending_any_share(RevealMutation mutation, ClientAbortReason expected)
    {
        using ManualRound round = ManualRound.Harary(ThreatMode.Malicious);
        ClientState state = round.ClientAt(Phase.ShareKeys);
        ServerToClient message = round.PendingFor(1).Clone();
        ShareKeysRequest request = message.ShareKeysRequest;
        Assert.Equal(round.P.Count, request.Reveals.Count);
        switch (mutation)
        {
            case RevealMutation.OtherMemberRevealChanged:
                request.Reveals[2].Seed = Flip(request.Reveals[2].Seed);
                break;
            case RevealMutation.OwnRevealChanged:
                request.Reveals[0].Seed = Flip(request.Reveals[0].Seed);
                break;
            case RevealMutation.RevealMissing:
                request.Reveals.RemoveAt(3);
                break;
            case RevealMutation.RevealReplayedUnderAnotherId:
                request.Reveals[2].Seed = request.Reveals[1].Seed;
                break;
            case RevealMutation.RevealFromAnotherRound:
                request.Reveals[1].RoundNumber = 2;
                break;
            case RevealMutation.RevealFromAnotherSession:
                using (ManualRound other = ManualRound.Harary(ThreatMode.Malicious, seed: 99))
                {
                    other.ClientAt(Phase.ShareKeys);
                    request.Reveals[1] = other.PendingFor(1).ShareKeysRequest.Reveals[1];
                }

                break;
            case RevealMutation.RevealTooShort:
                request.Reveals[1].Seed = ByteString.CopyFrom(request.Reveals[1].Seed.Span[..31]);
                break;
            case RevealMutation.RevealsOutOfOrder:
                (request.Reveals[1], request.Reveals[2]) = (request.Reveals[2], request.Reveals[1]);
                break;
            case RevealMutation.RevealRepeated:
                request.Reveals[2] = request.Reveals[1];
                break;
            case RevealMutation.KeyListRepeatedInShareKeys:
                request.Keys.Add(new AdvertisedKey { ClientId = 1 });
                break;
        }

        ClientStep step = state.Handle(message);
        ClientAbortedState aborted = Assert.IsType<ClientAbortedState>(step.State);
        Assert.Equal(expected, aborted.Reason);
        Assert.Equal(ClientToServer.MessageOneofCase.Abort, step.Message!.MessageCase);
        Assert.True(state.InternalContext.IsDisposed); // secrets wiped, nothing but the abort sent
    }

    [Theory]
    [InlineData(KeyListMutation.MemberMissing, ClientAbortReason.MissingRelabelReveal)]
    [InlineData(KeyListMutation.CommitmentTooShort, ClientAbortReason.MalformedMessage)]
    [InlineData(KeyListMutation.CommitmentMissing, ClientAbortReason.MalformedMessage)]
    [InlineData(KeyListMutation.OwnCommitmentSubstituted, ClientAbortReason.OwnKeySubstituted)]
    [InlineData(KeyListMutation.WrongRound, ClientAbortReason.WrongSession)]
    public void A_client_refuses_a_bad_key_list_before_revealing(KeyListMutation mutation, ClientAbortReason expected)
    {
        using ManualRound round = ManualRound.Harary(ThreatMode.Malicious);
        ClientState state = round.ClientAt(Phase.RelabelReveal);
        ServerToClient message = round.PendingFor(1).Clone();
        RelabelRevealRequest request = message.RelabelRevealRequest;
        switch (mutation)
        {
            case KeyListMutation.MemberMissing:
                request.Keys.RemoveAt(2); // the coordinator "drops" a member at advertisement
                break;
            case KeyListMutation.CommitmentTooShort:
                request.Keys[1].RelabelCommitment = ByteString.CopyFrom(request.Keys[1].RelabelCommitment.Span[..31]);
                break;
            case KeyListMutation.CommitmentMissing:
                request.Keys[1].RelabelCommitment = ByteString.Empty;
                break;
            case KeyListMutation.OwnCommitmentSubstituted:
                request.Keys[0].RelabelCommitment = Flip(request.Keys[0].RelabelCommitment);
                break;
            case KeyListMutation.WrongRound:
                request.RoundNumber = 2;
                break;
        }

        ClientStep step = state.Handle(message);
        ClientAbortedState aborted = Assert.IsType<ClientAbortedState>(step.State);
        Assert.Equal(expected, aborted.Reason);
        Assert.Equal(ClientToServer.MessageOneofCase.Abort, step.Message!.MessageCase); // the seed was never revealed
    }

    [Fact]
    public void A_substituted_commitment_of_another_member_is_caught_by_its_reveal()
    {
        using ManualRound round = ManualRound.Harary(ThreatMode.Malicious);
        ClientState state = round.ClientAt(Phase.RelabelReveal);
        ServerToClient list = round.PendingFor(1).Clone();
        list.RelabelRevealRequest.Keys[2].RelabelCommitment = Flip(list.RelabelRevealRequest.Keys[2].RelabelCommitment);
        ClientStep revealed = state.Handle(list);
        Assert.Equal(ClientToServer.MessageOneofCase.RelabelReveal, revealed.Message!.MessageCase);

        // The honest coordinator logic continues with the true reveals; client 1 holds the substituted commitment.
        round.Clients[1] = revealed.State;
        round.DeliverPending(); // the others get the true list (client 1, already past it, rejects its copy unchanged)
        round.Replies[1] = revealed.Message;
        round.FeedReplies();
        round.Close();
        ClientStep step = round.Clients[1].Handle(round.PendingFor(1));
        Assert.Equal(ClientAbortReason.WrongRelabelReveal, Assert.IsType<ClientAbortedState>(step.State).Reason);
    }

    public enum ServerRevealCase
    {
        SeedChanged,
        SeedTooShort,
        ClientIdOfAnother,
        OtherRound,
        Duplicate,
    }

    [Theory]
    [InlineData(ServerRevealCase.SeedChanged, DropReason.BadReveal)]
    [InlineData(ServerRevealCase.SeedTooShort, DropReason.Malformed)]
    [InlineData(ServerRevealCase.ClientIdOfAnother, DropReason.Malformed)]
    [InlineData(ServerRevealCase.OtherRound, DropReason.Unspecified)]
    [InlineData(ServerRevealCase.Duplicate, DropReason.Unspecified)]
    public void The_coordinator_drops_or_refuses_a_bad_reveal_and_then_aborts_the_round(ServerRevealCase which, DropReason expected)
    {
        using ManualRound round = ManualRound.Harary(ThreatMode.Malicious);
        ServerState state = round.ServerAt(Phase.RelabelReveal);
        ClientToServer reply = round.Replies[2].Clone();
        switch (which)
        {
            case ServerRevealCase.SeedChanged: reply.RelabelReveal.Seed = Flip(reply.RelabelReveal.Seed); break;
            case ServerRevealCase.SeedTooShort: reply.RelabelReveal.Seed = ByteString.CopyFrom(new byte[31]); break;
            case ServerRevealCase.ClientIdOfAnother: reply.RelabelReveal.ClientId = 3; break;
            case ServerRevealCase.OtherRound: reply.RelabelReveal.RoundNumber = 2; break;
            case ServerRevealCase.Duplicate: Assert.True(state.Handle(2, round.Replies[2]).Accepted); break;
        }

        ServerStep step = state.Handle(2, reply);
        Assert.False(step.Accepted);
        Assert.Equal(expected == DropReason.Unspecified ? null : expected, step.Dropped);
        if (expected == DropReason.Unspecified)
        {
            return; // refused without dropping: the genuine reveal (or the first copy) still counts
        }

        foreach ((int id, ClientToServer r) in round.Replies.Where(kv => kv.Key != 2))
        {
            Assert.True(state.Handle(id, r).Accepted);
        }

        ServerTransition next = state.Close();
        ServerAbortedState aborted = Assert.IsType<ServerAbortedState>(next.State);
        Assert.Equal(RoundOutcome.AbortedIncompleteRelabelling, aborted.Outcome);
        Assert.All(next.Messages, m => Assert.Equal(ServerToClient.MessageOneofCase.Abort, m.Message.MessageCase));
    }

    [Fact]
    public void A_missing_reveal_aborts_the_round_the_coordinator_cannot_carry_on_without_it()
    {
        using ManualRound round = ManualRound.Harary(ThreatMode.Malicious);
        ServerState state = round.ServerAt(Phase.RelabelReveal);
        foreach ((int id, ClientToServer r) in round.Replies.Where(kv => kv.Key != 4))
        {
            Assert.True(state.Handle(id, r).Accepted);
        }

        ServerTransition next = state.Close();
        Assert.Equal(RoundOutcome.AbortedIncompleteRelabelling, Assert.IsType<ServerAbortedState>(next.State).Outcome);
        Assert.Equal([1, 2, 3, 4], next.Messages.Select(m => m.ClientId).Order()); // everyone told, including the silent one
    }

    [Theory]
    [InlineData(31)]
    [InlineData(0)]
    [InlineData(33)]
    public void The_coordinator_drops_an_advertisement_with_a_malformed_commitment(int length)
    {
        using ManualRound round = ManualRound.Harary(ThreatMode.HonestButCurious);
        ServerState state = round.ServerAt(Phase.AdvertiseKeys);
        ClientToServer reply = round.Replies[2].Clone();
        reply.AdvertiseKeys.Keys.RelabelCommitment = ByteString.CopyFrom(new byte[length]);
        Assert.Equal(DropReason.Malformed, state.Handle(2, reply).Dropped);
    }

    public enum SignatureCase
    {
        OtherSuite,
        OtherKeySameSuite,
        TooShort,
        OverMessageWithoutCommitment,
    }

    [Theory]
    [InlineData(IdentitySuite.Ed25519, SignatureCase.OtherSuite, DropReason.BadSignature)]
    [InlineData(IdentitySuite.Ed25519, SignatureCase.OtherKeySameSuite, DropReason.BadSignature)]
    [InlineData(IdentitySuite.Ed25519, SignatureCase.TooShort, DropReason.Malformed)]
    [InlineData(IdentitySuite.Ed25519, SignatureCase.OverMessageWithoutCommitment, DropReason.BadSignature)]
    [InlineData(IdentitySuite.EcdsaP256Sha256, SignatureCase.OtherSuite, DropReason.BadSignature)]
    [InlineData(IdentitySuite.EcdsaP256Sha256, SignatureCase.OtherKeySameSuite, DropReason.BadSignature)]
    [InlineData(IdentitySuite.EcdsaP256Sha256, SignatureCase.OverMessageWithoutCommitment, DropReason.BadSignature)]
    public void The_coordinator_drops_an_advertisement_not_signed_by_the_enrolled_identity(IdentitySuite enrolled, SignatureCase which, DropReason expected)
    {
        using ManualRound round = ManualRound.Harary(ThreatMode.Malicious, suite: enrolled);
        ServerState state = round.ServerAt(Phase.AdvertiseKeys);
        ClientToServer reply = round.Replies[2].Clone();
        AdvertisedKey keys = reply.AdvertiseKeys.Keys;
        byte[] signed = Derivations.AdvertiseMessage(round.P.Digest, 2, keys.CipherPublicKey.Span, keys.MaskPublicKey.Span, keys.RelabelCommitment.ToByteArray());
        IdentitySuite other = enrolled == IdentitySuite.Ed25519 ? IdentitySuite.EcdsaP256Sha256 : IdentitySuite.Ed25519;
        using var rng = DeterministicRandomSource.FromTestSeed(5);
        switch (which)
        {
            case SignatureCase.OtherSuite:
                using (IdentitySigningKey key = IdentitySigningKey.Generate(other, rng))
                {
                    keys.Signature = ByteString.CopyFrom(key.Sign(signed));
                }

                break;
            case SignatureCase.OtherKeySameSuite:
                using (IdentitySigningKey key = IdentitySigningKey.Generate(enrolled, rng))
                {
                    keys.Signature = ByteString.CopyFrom(key.Sign(signed));
                }

                break;
            case SignatureCase.TooShort:
                keys.Signature = ByteString.CopyFrom(keys.Signature.Span[..63]);
                break;
            case SignatureCase.OverMessageWithoutCommitment:
                // The member's own key, but over the advertise message without the commitment part: not accepted.
                byte[] bare = Derivations.AdvertiseMessage(round.P.Digest, 2, keys.CipherPublicKey.Span, keys.MaskPublicKey.Span);
                keys.Signature = ByteString.CopyFrom(round.Identities[2].Sign(bare));
                break;
        }

        Assert.Equal(expected, state.Handle(2, reply).Dropped);
        Assert.True(state.Handle(1, round.Replies[1]).Accepted); // the genuine ones still count
    }

    [Theory]
    [InlineData(IdentitySuite.Ed25519, GraphKind.Harary)]
    [InlineData(IdentitySuite.EcdsaP256Sha256, GraphKind.Harary)]
    [InlineData(IdentitySuite.EcdsaP256Sha256, GraphKind.Full)]
    public void A_malicious_round_completes_in_either_identity_suite(IdentitySuite suite, GraphKind graph)
    {
        uint[][] inputs = TestSupport.RandomInputs(8, 4, 16, 3);
        using var rng = DeterministicRandomSource.FromTestSeed(11);
        SecAggOutcome outcome = InProcessRound.Run(new SecAggConfig(8, graph == GraphKind.Harary ? 3 : 5, 4, 16, ThreatMode.Malicious, graph,
                graph == GraphKind.Harary ? 4 : null, Threads: 1),
            inputs, new RoundOptions { Random = rng, IdentitySuite = suite, Dropouts = new DropoutPlan().Drop(5, DropPoint.AfterShareKeys) });
        Assert.True(outcome.Completed, outcome.Outcome.ToString());
        Assert.Equal(TestSupport.ExpectedSum(inputs, outcome.Contributors, 16), outcome.Sum);
    }

    [Fact]
    public void A_cohort_may_mix_identity_suites()
    {
        using var rng = DeterministicRandomSource.FromTestSeed(12);
        var identities = Enumerable.Range(1, 6).ToDictionary(id => id,
            id => IdentitySigningKey.Generate(id % 2 == 0 ? IdentitySuite.Ed25519 : IdentitySuite.EcdsaP256Sha256, rng));
        try
        {
            uint[][] inputs = TestSupport.RandomInputs(6, 4, 16, 4);
            SecAggOutcome outcome = InProcessRound.Run(new SecAggConfig(6, 3, 4, 16, ThreatMode.Malicious, GraphKind.Harary, 4, Threads: 1),
                inputs, new RoundOptions { Random = rng, Identities = identities });
            Assert.True(outcome.Completed, outcome.Outcome.ToString());
            Assert.Equal(TestSupport.ExpectedSum(inputs, [1, 2, 3, 4, 5, 6], 16), outcome.Sum);
        }
        finally
        {
            foreach (IdentitySigningKey key in identities.Values)
            {
                key.Dispose();
            }
        }
    }

    [Fact]
    public void The_coordinator_choice_of_later_dropouts_does_not_change_the_permutation()
    {
        // Same cohort, same randomness (hence the same keys and seeds); the coordinator lets different clients drop after
        // the reveal. The graph was fixed by the reveals and every run uses the same one.
        const int n = 12, k = 4;
        uint[][] inputs = TestSupport.RandomInputs(n, 4, 16, 8);
        DropoutPlan[] plans =
        [
            new DropoutPlan(),
            new DropoutPlan().Drop(2, DropPoint.AfterAdvertiseKeys),
            new DropoutPlan().Drop(2, DropPoint.AfterShareKeys).Drop(9, DropPoint.AfterShareKeys),
            new DropoutPlan().Drop(5, DropPoint.AfterMaskedInput).Drop(11, DropPoint.AfterAdvertiseKeys),
        ];
        int[][] permutations = plans.Select(plan =>
        {
            SecAggOutcome outcome = TestSupport.Run(new SecAggConfig(n, 3, 4, 16, ThreatMode.HonestButCurious, GraphKind.Harary, k, Threads: 1),
                inputs, plan, seed: 21, transcript: true);
            Assert.True(outcome.Completed, outcome.Outcome.ToString());
            return PermutationOf(outcome, n, k);
        }).ToArray();
        Assert.All(permutations, p => Assert.Equal(permutations[0], p));
    }

    [Fact]
    public void Rounds_with_different_member_seeds_get_different_permutations()
    {
        const int n = 12, k = 4;
        uint[][] inputs = TestSupport.RandomInputs(n, 4, 16, 8);
        int[] Run(ulong seed) => PermutationOf(TestSupport.Run(new SecAggConfig(n, 3, 4, 16, ThreatMode.HonestButCurious, GraphKind.Harary, k, Threads: 1),
            inputs, null, seed, transcript: true), n, k);
        Assert.NotEqual(Run(21), Run(22));
    }

    [Fact]
    public void Changing_any_one_reveal_or_their_order_changes_the_relabelling()
    {
        Gen<(int Seed, int Member, int Bit)> gen =
            from seed in Gen.Choose(0, int.MaxValue)
            from member in Gen.Choose(0, 15)
            from bit in Gen.Choose(0, 255)
            select (seed, member, bit);
        Prop.ForAll(gen.ToArbitrary(), c =>
        {
            const int n = 16, k = 6;
            using var rng = DeterministicRandomSource.FromTestSeed((ulong)c.Seed);
            var session = new byte[32];
            rng.Fill(session);
            List<byte[]> reveals = Enumerable.Range(0, n).Select(_ =>
            {
                var r = new byte[32];
                rng.Fill(r);
                return r;
            }).ToList();
            int[] baseline = Relabelling.DerivePermutation(Derivations.RelabelSeed(session, reveals), n, k);

            List<byte[]> changed = reveals.Select(r => (byte[])r.Clone()).ToList();
            changed[c.Member][c.Bit / 8] ^= (byte)(1 << (c.Bit % 8));
            List<byte[]> swapped = [.. reveals];
            (swapped[c.Member], swapped[(c.Member + 1) % n]) = (swapped[(c.Member + 1) % n], swapped[c.Member]);
            return !baseline.SequenceEqual(Relabelling.DerivePermutation(Derivations.RelabelSeed(session, changed), n, k))
                   && !baseline.SequenceEqual(Relabelling.DerivePermutation(Derivations.RelabelSeed(session, swapped), n, k));
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(50));
    }

    /// <summary>Recomputes the relabelling from what travelled: the key list (session id) and the relayed reveals.</summary>
    private static int[] PermutationOf(SecAggOutcome outcome, int n, int k)
    {
        ServerToClient list = ServerToClient.Parser.ParseFrom(outcome.Transcript.First(e => e.Kind == nameof(ServerToClient.MessageOneofCase.RelabelRevealRequest)).Bytes);
        ServerToClient share = ServerToClient.Parser.ParseFrom(outcome.Transcript.First(e => e.Kind == nameof(ServerToClient.MessageOneofCase.ShareKeysRequest)).Bytes);
        byte[] session = Derivations.SessionId(outcome.Parameters.Digest, list.RelabelRevealRequest.Keys.Select(key =>
            new Derivations.KeyEntry((int)key.ClientId, key.CipherPublicKey.ToByteArray(), key.MaskPublicKey.ToByteArray(), key.RelabelCommitment.ToByteArray())));
        Assert.Equal(n, share.ShareKeysRequest.Reveals.Count);
        return Relabelling.DerivePermutation(Derivations.RelabelSeed(session, share.ShareKeysRequest.Reveals.Select(r => r.Seed.ToByteArray())), n, k);
    }

    private static ByteString Flip(ByteString value)
    {
        byte[] bytes = value.ToByteArray();
        bytes[0] ^= 1;
        return ByteString.CopyFrom(bytes);
    }
}
