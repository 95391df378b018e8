using Google.Protobuf;
using SecureFedRec.Crypto;
using SecureFedRec.Protocol.Server;
using SecureFedRec.Protocol.Simulation;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Protocol.Tests;

/// <summary>
/// The misbehaving-coordinator suite (threat-model.md §"Malicious coordinator"): each attack is its own test; none may
/// let the coordinator hold t shares of both the self-mask seed and the mask key of any client (which is what
/// unmasking one client's input requires).
/// </summary>
public class MisbehavingCoordinatorTests
{
    private const int N = 7;
    private const int T = 4;
    private const int Victim = 7;

    internal static void AssertNoInputUnmaskable(SecAggOutcome outcome)
    {
        int t = outcome.Parameters.Threshold;
        foreach (IGrouping<int, RevealedShareRecord> owner in outcome.RevealedShares.GroupBy(r => r.Owner))
        {
            int seeds = owner.Where(r => r.Kind == ShareKind.SelfMaskSeed).Select(r => r.Holder).Distinct().Count();
            int keys = owner.Where(r => r.Kind == ShareKind.MaskPrivateKey).Select(r => r.Holder).Distinct().Count();
            Assert.False(seeds >= t && keys >= t, $"The coordinator holds t shares of both secrets of client {owner.Key}.");
        }
    }

    private static SecAggOutcome Attack(CoordinatorScript script, ThreatMode mode = ThreatMode.Malicious, ulong round = 1)
    {
        uint[][] inputs = TestSupport.RandomInputs(N, 8, 16, 21);
        using var rng = DeterministicRandomSource.FromTestSeed(99);
        SecAggOutcome outcome = InProcessRound.Run(new SecAggConfig(N, T, 8, 16, mode) { RoundNumber = round }, inputs,
            new RoundOptions { Random = rng, Script = script });
        AssertNoInputUnmaskable(outcome);
        return outcome;
    }

    private static IEnumerable<uint> Without(IEnumerable<uint> ids, int id) => ids.Where(x => x != (uint)id);

    /// <summary>Asks for the victim's self-seed and mask-key shares in one request (victim in both lists).</summary>
    private sealed class BothKindsInOneRequest : CoordinatorScript
    {
        public override IEnumerable<ServerToClient> Rewrite(int recipient, ServerToClient message, Phase phase)
        {
            if (message.MessageCase == ServerToClient.MessageOneofCase.UnmaskingRequest)
            {
                ServerToClient copy = message.Clone();
                copy.UnmaskingRequest.Dropped.Add((uint)Victim);
                return [copy];
            }

            return [message];
        }
    }

    [Theory]
    [InlineData(ThreatMode.HonestButCurious)]
    [InlineData(ThreatMode.Malicious)]
    public void Both_share_kinds_in_one_request_make_every_client_abort(ThreatMode mode)
    {
        SecAggOutcome outcome = Attack(new BothKindsInOneRequest(), mode);
        Assert.Empty(outcome.RevealedShares);
        Assert.All(Enumerable.Range(1, N), id => Assert.Equal(ClientAbortReason.ConflictingShareRequest, outcome.ClientAborts[id]));
    }

    /// <summary>After the honest unmasking request, sends a second one that names the victim dropped.</summary>
    private sealed class SecondRequestForTheOtherKind : CoordinatorScript
    {
        public override IEnumerable<ServerToClient> Rewrite(int recipient, ServerToClient message, Phase phase)
        {
            if (message.MessageCase != ServerToClient.MessageOneofCase.UnmaskingRequest)
            {
                return [message];
            }

            ServerToClient second = message.Clone();
            second.UnmaskingRequest.Survivors.Clear();
            second.UnmaskingRequest.Survivors.AddRange(Without(message.UnmaskingRequest.Survivors, Victim));
            second.UnmaskingRequest.Dropped.Add((uint)Victim);
            return [message, second];
        }
    }

    [Theory]
    [InlineData(ThreatMode.HonestButCurious)]
    [InlineData(ThreatMode.Malicious)]
    public void A_second_request_for_the_other_share_kind_is_refused(ThreatMode mode)
    {
        SecAggOutcome outcome = Attack(new SecondRequestForTheOtherKind(), mode);
        Assert.DoesNotContain(outcome.RevealedShares, r => r.Owner == Victim && r.Kind == ShareKind.MaskPrivateKey);
        Assert.True(outcome.Completed);
    }

    /// <summary>Malicious mode: reports the victim dropped in the unmasking request although its masked input arrived.</summary>
    private sealed class DroppedAfterMaskedInput : CoordinatorScript
    {
        public override IEnumerable<ServerToClient> Rewrite(int recipient, ServerToClient message, Phase phase)
        {
            if (message.MessageCase != ServerToClient.MessageOneofCase.UnmaskingRequest)
            {
                return [message];
            }

            ServerToClient copy = message.Clone();
            copy.UnmaskingRequest.Survivors.Clear();
            copy.UnmaskingRequest.Survivors.AddRange(Without(message.UnmaskingRequest.Survivors, Victim));
            copy.UnmaskingRequest.Dropped.Add((uint)Victim);
            copy.UnmaskingRequest.Signatures.Clear();
            copy.UnmaskingRequest.Signatures.AddRange(message.UnmaskingRequest.Signatures.Where(s => s.ClientId != Victim));
            return [copy];
        }
    }

    [Fact]
    public void Client_reported_dropped_after_its_masked_input_arrived_makes_clients_abort()
    {
        SecAggOutcome outcome = Attack(new DroppedAfterMaskedInput());
        Assert.Empty(outcome.RevealedShares);
        Assert.All(Enumerable.Range(1, N - 1), id => Assert.Equal(ClientAbortReason.InconsistentSurvivors, outcome.ClientAborts[id]));
    }

    /// <summary>Omits the victim from the survivor list everyone signs, although its masked input arrived.</summary>
    private sealed class OmittedFromConsistencyList : CoordinatorScript
    {
        public override IEnumerable<ServerToClient> Rewrite(int recipient, ServerToClient message, Phase phase)
        {
            if (message.MessageCase != ServerToClient.MessageOneofCase.ConsistencyCheckRequest)
            {
                return [message];
            }

            ServerToClient copy = message.Clone();
            copy.ConsistencyCheckRequest.Survivors.Clear();
            copy.ConsistencyCheckRequest.Survivors.AddRange(Without(message.ConsistencyCheckRequest.Survivors, Victim));
            return [copy];
        }
    }

    [Fact]
    public void Victim_omitted_from_the_signed_survivor_list_never_has_its_self_seed_revealed()
    {
        SecAggOutcome outcome = Attack(new OmittedFromConsistencyList());
        Assert.DoesNotContain(outcome.RevealedShares, r => r.Owner == Victim && r.Kind == ShareKind.SelfMaskSeed);
        Assert.False(outcome.Completed);
    }

    /// <summary>
    /// Sends clients 1..3 a survivor list without the victim and clients 4..7 the true one, then gives each group the
    /// signatures on its own list: neither group can show t signatures on one list.
    /// </summary>
    private sealed class DifferentListsToDifferentClients : CoordinatorScript
    {
        private readonly Dictionary<int, ByteString> _signatures = [];
        private RepeatedFieldSnapshot? _full;

        private sealed record RepeatedFieldSnapshot(uint[] Survivors, ulong Round);

        private static bool InGroupA(int id) => id <= 3;

        public override IEnumerable<ServerToClient> Rewrite(int recipient, ServerToClient message, Phase phase)
        {
            switch (message.MessageCase)
            {
                case ServerToClient.MessageOneofCase.ConsistencyCheckRequest:
                    _full = new RepeatedFieldSnapshot([.. message.ConsistencyCheckRequest.Survivors], message.ConsistencyCheckRequest.RoundNumber);
                    if (!InGroupA(recipient))
                    {
                        return [message];
                    }

                    ServerToClient copy = message.Clone();
                    copy.ConsistencyCheckRequest.Survivors.Clear();
                    copy.ConsistencyCheckRequest.Survivors.AddRange(Without(_full.Survivors, Victim));
                    return [copy];
                case ServerToClient.MessageOneofCase.UnmaskingRequest:
                    return []; // replaced by Inject
                default:
                    return [message];
            }
        }

        public override void Observe(int sender, ClientToServer message)
        {
            if (message.MessageCase == ClientToServer.MessageOneofCase.ConsistencySignature)
            {
                _signatures[sender] = message.ConsistencySignature.Signature;
            }
        }

        public override IEnumerable<OutgoingMessage> Inject(Phase phase)
        {
            if (phase != Phase.Unmasking || _full is null)
            {
                yield break;
            }

            for (int u = 1; u <= N; u++)
            {
                bool a = InGroupA(u);
                var request = new UnmaskingRequest { RoundNumber = _full.Round };
                request.Survivors.AddRange(a ? Without(_full.Survivors, Victim) : _full.Survivors);
                if (a)
                {
                    request.Dropped.Add((uint)Victim);
                }

                foreach ((int v, ByteString signature) in _signatures.OrderBy(kv => kv.Key))
                {
                    if (v != u && InGroupA(v) == a)
                    {
                        request.Signatures.Add(new SurvivorSignature { ClientId = (uint)v, Signature = signature });
                    }
                }

                yield return new OutgoingMessage(u, new ServerToClient { UnmaskingRequest = request });
            }
        }
    }

    [Fact]
    public void Different_survivor_lists_to_different_clients_cannot_collect_t_signatures()
    {
        SecAggOutcome outcome = Attack(new DifferentListsToDifferentClients());

        // Group A (told the victim dropped) holds fewer than t signatures on its list and reveals nothing; group B
        // holds t on the true list and reveals only self-seed shares; no mask-key share of the victim ever leaves.
        Assert.All(Enumerable.Range(1, 3), id => Assert.Equal(ClientAbortReason.TooFewSurvivors, outcome.ClientAborts[id]));
        Assert.DoesNotContain(outcome.RevealedShares, r => r.Holder <= 3);
        Assert.DoesNotContain(outcome.RevealedShares, r => r.Kind == ShareKind.MaskPrivateKey);
    }

    /// <summary>Replaces one peer's (or the recipient's own) mask public key in the key list sent to client 1.</summary>
    private sealed class SubstitutedKey(int substituted) : CoordinatorScript
    {
        public override IEnumerable<ServerToClient> Rewrite(int recipient, ServerToClient message, Phase phase)
        {
            if (message.MessageCase != ServerToClient.MessageOneofCase.ShareKeysRequest || recipient != 1)
            {
                return [message];
            }

            using PrivateKey attacker = KeyAgreementAlgorithm.X25519.GenerateKey(DeterministicRandomSource.FromTestSeed(3));
            ServerToClient copy = message.Clone();
            copy.ShareKeysRequest.Keys.Single(k => k.ClientId == (uint)substituted).MaskPublicKey = ByteString.CopyFrom(attacker.PublicKey);
            return [copy];
        }
    }

    [Theory]
    [InlineData(2, ClientAbortReason.BadSignature)]
    [InlineData(1, ClientAbortReason.OwnKeySubstituted)]
    public void Substituted_public_keys_make_the_recipient_abort(int substituted, ClientAbortReason expected)
    {
        SecAggOutcome outcome = Attack(new SubstitutedKey(substituted));
        Assert.Equal(expected, outcome.ClientAborts[1]);
        Assert.DoesNotContain(outcome.RevealedShares, r => r.Holder == 1);
    }

    /// <summary>Replays to every client the messages of an earlier round (as recorded), optionally relabelled with the current round number.</summary>
    private sealed class Replay(IReadOnlyList<TranscriptEntry> earlier, ServerToClient.MessageOneofCase kind, ulong relabel) : CoordinatorScript
    {
        public override IEnumerable<ServerToClient> Rewrite(int recipient, ServerToClient message, Phase phase)
        {
            if (message.MessageCase != kind)
            {
                return [message];
            }

            TranscriptEntry old = earlier.First(e => !e.FromClient && e.ClientId == recipient && e.Kind == kind.ToString());
            ServerToClient replayed = ServerToClient.Parser.ParseFrom(old.Bytes);
            if (relabel != 0)
            {
                switch (kind)
                {
                    case ServerToClient.MessageOneofCase.ShareKeysRequest: replayed.ShareKeysRequest.RoundNumber = relabel; break;
                    case ServerToClient.MessageOneofCase.MaskedInputRequest: replayed.MaskedInputRequest.RoundNumber = relabel; break;
                    case ServerToClient.MessageOneofCase.UnmaskingRequest: replayed.UnmaskingRequest.RoundNumber = relabel; break;
                }
            }

            return [replayed];
        }
    }

    [Theory]
    [InlineData(ServerToClient.MessageOneofCase.ShareKeysRequest, 0ul, ClientAbortReason.WrongSession)]
    [InlineData(ServerToClient.MessageOneofCase.MaskedInputRequest, 0ul, ClientAbortReason.WrongSession)]
    [InlineData(ServerToClient.MessageOneofCase.UnmaskingRequest, 0ul, ClientAbortReason.WrongSession)]
    [InlineData(ServerToClient.MessageOneofCase.ShareKeysRequest, 2ul, ClientAbortReason.OwnKeySubstituted)]
    [InlineData(ServerToClient.MessageOneofCase.MaskedInputRequest, 2ul, ClientAbortReason.BadCiphertext)]
    [InlineData(ServerToClient.MessageOneofCase.UnmaskingRequest, 2ul, ClientAbortReason.BadSignature)]
    public void Replayed_messages_from_another_round_make_clients_abort(ServerToClient.MessageOneofCase kind, ulong relabel,
        ClientAbortReason expected)
    {
        uint[][] inputs = TestSupport.RandomInputs(N, 8, 16, 21);
        SecAggOutcome first = TestSupport.Run(new SecAggConfig(N, T, 8, 16, ThreatMode.Malicious) { RoundNumber = 1 }, inputs,
            seed: 1, transcript: true);
        Assert.True(first.Completed);

        SecAggOutcome outcome = Attack(new Replay(first.Transcript, kind, relabel), ThreatMode.Malicious, round: 2);
        Assert.All(Enumerable.Range(1, N), id => Assert.Equal(expected, outcome.ClientAborts[id]));
        Assert.Empty(outcome.RevealedShares);
    }

    /// <summary>Claims that only t−1 clients survived (the rest "dropped") to collect mask-key shares of survivors.</summary>
    private sealed class FewerThanTSurvivors : CoordinatorScript
    {
        public override IEnumerable<ServerToClient> Rewrite(int recipient, ServerToClient message, Phase phase)
        {
            switch (message.MessageCase)
            {
                case ServerToClient.MessageOneofCase.ConsistencyCheckRequest:
                    {
                        ServerToClient copy = message.Clone();
                        uint[] kept = Keep(copy.ConsistencyCheckRequest.Survivors, recipient);
                        copy.ConsistencyCheckRequest.Survivors.Clear();
                        copy.ConsistencyCheckRequest.Survivors.AddRange(kept);
                        return [copy];
                    }

                case ServerToClient.MessageOneofCase.UnmaskingRequest:
                    {
                        ServerToClient copy = message.Clone();
                        uint[] all = [.. copy.UnmaskingRequest.Survivors];
                        uint[] kept = Keep(all, recipient);
                        copy.UnmaskingRequest.Survivors.Clear();
                        copy.UnmaskingRequest.Survivors.AddRange(kept);
                        copy.UnmaskingRequest.Dropped.Clear();
                        copy.UnmaskingRequest.Dropped.AddRange(all.Except(kept).Order());
                        return [copy];
                    }

                default:
                    return [message];
            }
        }

        private static uint[] Keep(IEnumerable<uint> survivors, int recipient) =>
            survivors.Where(id => id != (uint)recipient).Take(T - 2).Append((uint)recipient).Order().ToArray();
    }

    [Theory]
    [InlineData(ThreatMode.HonestButCurious)]
    [InlineData(ThreatMode.Malicious)]
    public void Fewer_than_t_survivors_make_clients_abort(ThreatMode mode)
    {
        SecAggOutcome outcome = Attack(new FewerThanTSurvivors(), mode);
        Assert.Empty(outcome.RevealedShares);
        Assert.All(Enumerable.Range(1, N), id => Assert.Equal(ClientAbortReason.TooFewSurvivors, outcome.ClientAborts[id]));
    }

    [Theory]
    [InlineData(ThreatMode.HonestButCurious)]
    [InlineData(ThreatMode.Malicious)]
    public void Coordinator_with_t_minus_1_colluding_clients_never_reaches_t_shares_of_both_secrets(ThreatMode mode)
    {
        // A round with losses at every phase; the coalition is the coordinator plus clients 1..t-1, who hand over every
        // share they hold (one of each kind for each neighbour whose shares reached them).
        uint[][] inputs = TestSupport.RandomInputs(N, 8, 16, 23);
        var plan = new DropoutPlan().Drop(5, DropPoint.AfterShareKeys).Drop(6, DropPoint.AfterMaskedInput);
        SecAggOutcome outcome = TestSupport.Run(new SecAggConfig(N, T, 8, 16, mode), inputs, plan, seed: 4);
        Assert.True(outcome.Completed);
        int[] colluders = Enumerable.Range(1, T - 1).ToArray();
        foreach (int victim in Enumerable.Range(T, N - T + 1))
        {
            int held = colluders.Length; // full graph: each colluder holds one share of each kind of the victim
            int seeds = outcome.RevealedShares.Count(r => r.Owner == victim && r.Kind == ShareKind.SelfMaskSeed && !colluders.Contains(r.Holder));
            int keys = outcome.RevealedShares.Count(r => r.Owner == victim && r.Kind == ShareKind.MaskPrivateKey && !colluders.Contains(r.Holder));
            Assert.False(seeds + held >= T && keys + held >= T, $"coalition can unmask client {victim}");
            Assert.True(seeds == 0 || keys == 0, $"honest clients revealed both kinds for client {victim}");
        }
    }
}
