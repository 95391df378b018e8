using System.Collections.Concurrent;
using Google.Protobuf;
using SecureFedRec.Client;
using SecureFedRec.Crypto;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Rounds;
using SecureFedRec.Rounds.Transport;

namespace SecureFedRec.Attack.Tests;

/// <summary>
/// Split view and key substitution against the defence: malicious mode (every advertised key signed by its member's
/// roster identity, the signed survivor list, 2t &gt; k + 1), over the network. The honest-but-curious rows show what
/// each attack gets without the defence.
/// </summary>
public sealed class KeyAndViewAttackTests
{
    /// <summary>
    /// Split view done as well as a coordinator can against signed survivor lists: group A (the victim and the next
    /// t − 1 smallest survivors) is asked to sign the true list; group B (the rest) the list without the victim. B's
    /// signatures are withheld from the real host (which would drop B for signing another list) and B is answered an
    /// UnmaskingRequest built from A's with the victim moved to the dropped list and B's own signatures attached.
    /// </summary>
    internal sealed class SignedSplitView : AttackScript
    {
        private readonly ConcurrentDictionary<int, ByteString> _groupBSignatures = new();

        public override string Name => "split-view-signed";

        public int Threshold { get; private set; }

        public int Victim { get; private set; }

        private List<uint> _survivors = [];

        // The first unmasking request the real host made for a member of A: kept, because under load the honest round can
        // finish (A answered, the phase closed) before a member of B fetches, and B must still be shown the lie.
        private FetchReply? _aRequest;

        public override RoundInvitation Invite(string caller, RoundInvitation honest)
        {
            Threshold = (int)honest.Opening.BeginRound.Parameters.Threshold;
            return honest;
        }

        public bool InGroupB(int clientNumber) => _survivors.Count > 0 && !_survivors.Take(Threshold).Contains((uint)clientNumber);

        public override ServerToClient Fetched(string caller, int clientNumber, Phase phase, ServerToClient honest)
        {
            if (honest.MessageCase != ServerToClient.MessageOneofCase.ConsistencyCheckRequest)
            {
                return honest;
            }

            lock (_groupBSignatures)
            {
                if (_survivors.Count == 0)
                {
                    _survivors = [.. honest.ConsistencyCheckRequest.Survivors.Order()];
                    Victim = (int)_survivors[0];
                }
            }

            if (!InGroupB(clientNumber))
            {
                return honest;
            }

            ServerToClient lie = honest.Clone();
            lie.ConsistencyCheckRequest.Survivors.Remove((uint)Victim);
            return lie;
        }

        public override ClientToServer? Submitted(string caller, int clientNumber, Phase phase, ClientToServer message)
        {
            if (message.MessageCase == ClientToServer.MessageOneofCase.ConsistencySignature && InGroupB(clientNumber))
            {
                _groupBSignatures[clientNumber] = message.ConsistencySignature.Signature;
                return null;
            }

            return message;
        }

        public override FetchReply FetchedReply(string caller, int clientNumber, ulong roundId, Phase phase, FetchReply honest)
        {
            if (phase == Phase.Unmasking && !InGroupB(clientNumber) && clientNumber != Victim
                && honest is { Outcome: FetchOutcome.Ready, Message.MessageCase: ServerToClient.MessageOneofCase.UnmaskingRequest })
            {
                Interlocked.CompareExchange(ref _aRequest, honest, null);
            }

            if (phase != Phase.Unmasking || !InGroupB(clientNumber) || honest.Outcome == FetchOutcome.Aborted)
            {
                return base.FetchedReply(caller, clientNumber, roundId, phase, honest);
            }

            // Build B's request from the one the real host made for a member of A (kept from A's own fetch, else asked now).
            foreach ((string other, int number) in Callers)
            {
                if (InGroupB(number) || number == Victim)
                {
                    continue;
                }

                FetchReply a = Volatile.Read(ref _aRequest) ?? Inner.Fetch(other, roundId, phase);
                if (a is not { Outcome: FetchOutcome.Ready, Message.MessageCase: ServerToClient.MessageOneofCase.UnmaskingRequest })
                {
                    continue;
                }

                Interlocked.CompareExchange(ref _aRequest, a, null);

                ServerToClient lie = a.Message!.Clone();
                UnmaskingRequest request = lie.UnmaskingRequest;
                request.Survivors.Remove((uint)Victim);
                var dropped = request.Dropped.Append((uint)Victim).Order().ToList();
                request.Dropped.Clear();
                request.Dropped.AddRange(dropped);
                request.Signatures.Clear();
                request.Signatures.AddRange(_groupBSignatures.Where(s => s.Key != clientNumber).OrderBy(s => s.Key)
                    .Select(s => new SurvivorSignature { ClientId = (uint)s.Key, Signature = s.Value }));
                return a with { Message = lie };
            }

            return honest with { Outcome = FetchOutcome.Pending, Message = null, RetryAfter = TimeSpan.FromMilliseconds(50) };
        }
    }

    /// <summary>
    /// Defence on (malicious mode, the networked default): the victim's mask key is never reconstructible — group B
    /// cannot gather t signatures on its list (2t &gt; k + 1) and aborts TOO_FEW_SURVIVORS without revealing anything.
    /// </summary>
    [Fact]
    public async Task Split_view_against_signed_survivor_lists_leaves_the_victim_masked()
    {
        var script = new SignedSplitView();
        await using Deployment deployment = await Deployment.StartAsync(script, malicious: true);
        ClientRoundResult[] results = await deployment.RunRoundAsync();
        ulong round = results[0].RoundId;
        Assert.True(script.Victim > 0, "the attack never reached the consistency check");
        for (int i = 0; i < results.Length; i++)
        {
            int number = deployment.NumberOf(i);
            var sent = deployment.Coordinator.Transcript.SentBy(number, round).Select(m => m.MessageCase).ToList();
            if (!script.InGroupB(number))
            {
                continue;
            }

            Assert.Equal(RoundOutcomeKind.Aborted, results[i].Kind);
            Assert.Equal("ProtocolAborted: TooFewSurvivors", results[i].Detail);
            Assert.DoesNotContain(ClientToServer.MessageOneofCase.Unmasking, sent);
        }

        Assert.Empty(SpecUnmasker.SharesOf(deployment.Coordinator.Transcript, round, script.Victim, ShareKind.MaskPrivateKey));
        for (int i = 0; i < results.Length; i++)
        {
            Assert.Null(SpecUnmasker.TryUnmask(deployment.Coordinator.Transcript, round, deployment.NumberOf(i)));
        }
    }

    /// <summary>
    /// Key substitution: in every other member's key list, the victim's keys are replaced by keys the coordinator holds
    /// (the victim's own list is left alone, so it does not see the substitution).
    /// </summary>
    internal sealed class SubstituteKeys(KeyAgreementAlgorithm suite) : AttackScript, IDisposable
    {
        private readonly PrivateKey _cipher = suite.GenerateKey();
        private readonly PrivateKey _mask = suite.GenerateKey();

        public override string Name => "key-substitution";

        public int Victim { get; private set; }

        public PrivateKey CipherKey => _cipher;

        public override ServerToClient Fetched(string caller, int clientNumber, Phase phase, ServerToClient honest)
        {
            if (honest.MessageCase != ServerToClient.MessageOneofCase.ShareKeysRequest)
            {
                return honest;
            }

            lock (_cipher)
            {
                if (Victim == 0)
                {
                    Victim = (int)honest.ShareKeysRequest.Keys.Max(k => k.ClientId);
                }
            }

            if (clientNumber == Victim)
            {
                return honest;
            }

            ServerToClient lie = honest.Clone();
            AdvertisedKey key = lie.ShareKeysRequest.Keys.Single(k => k.ClientId == (uint)Victim);
            key.CipherPublicKey = ByteString.CopyFrom(_cipher.PublicKey);
            key.MaskPublicKey = ByteString.CopyFrom(_mask.PublicKey);
            return lie;
        }

        public void Dispose()
        {
            _cipher.Dispose();
            _mask.Dispose();
        }
    }

    /// <summary>Defence on: every other member checks the victim's signature over its advertised keys and aborts BAD_SIGNATURE before sealing a share.</summary>
    [Fact]
    public async Task Substituted_keys_are_refused_before_any_share_is_sealed_to_them()
    {
        using var script = new SubstituteKeys(KeyAgreementAlgorithm.X25519);
        await using Deployment deployment = await Deployment.StartAsync(script, malicious: true);
        ClientRoundResult[] results = await deployment.RunRoundAsync();
        ulong round = results[0].RoundId;
        for (int i = 0; i < results.Length; i++)
        {
            int number = deployment.NumberOf(i);
            if (number == script.Victim)
            {
                continue;
            }

            Assert.Equal(RoundOutcomeKind.Aborted, results[i].Kind);
            Assert.Equal("ProtocolAborted: BadSignature", results[i].Detail);
            var sent = deployment.Coordinator.Transcript.SentBy(number, round).Select(m => m.MessageCase).ToList();
            Assert.Equal([ClientToServer.MessageOneofCase.AdvertiseKeys, ClientToServer.MessageOneofCase.Abort], sent);
            Assert.Null(SpecUnmasker.TryUnmask(deployment.Coordinator.Transcript, round, number));
        }
    }

    /// <summary>
    /// Defence off (honest-but-curious, no signatures): every other member seals its share pair "to the victim" under
    /// the coordinator's key, and the coordinator opens each one: a share of both secrets of every holder per
    /// substituted member (t substituted members unmask everyone else).
    /// </summary>
    [Fact]
    public async Task Without_signatures_substituted_keys_hand_the_coordinator_every_holders_share_pair()
    {
        using var script = new SubstituteKeys(KeyAgreementAlgorithm.X25519);
        await using Deployment deployment = await Deployment.StartAsync(script, malicious: false);
        ClientRoundResult[] results = await deployment.RunRoundAsync();
        ulong round = results[0].RoundId;
        int opened = 0;
        foreach ((int holder, ClientToServer message) in deployment.Coordinator.Transcript.Submissions(round))
        {
            if (message.MessageCase != ClientToServer.MessageOneofCase.ShareKeys || holder == script.Victim)
            {
                continue;
            }

            ShareKeysRequest view = deployment.Coordinator.Transcript.SentTo(holder, round)
                .First(m => m.MessageCase == ServerToClient.MessageOneofCase.ShareKeysRequest).ShareKeysRequest;
            RoundParameters p = deployment.Coordinator.Transcript.SentTo(holder, round)
                .First(m => m.MessageCase == ServerToClient.MessageOneofCase.BeginRound).BeginRound.Parameters;
            byte[] session = SpecUnmasker.SessionId(p, view);
            byte[] holderKey = view.Keys.Single(k => k.ClientId == (uint)holder).CipherPublicKey.ToByteArray();
            byte[] sealedShare = message.ShareKeys.Shares.Single(s => s.PeerId == (uint)script.Victim).Ciphertext.ToByteArray();
            Assert.True(KeyAgreementAlgorithm.X25519.TryAgree(script.CipherKey, holderKey, out SharedSecret? shared));
            using (shared)
            {
                uint lo = (uint)Math.Min(holder, script.Victim), hi = (uint)Math.Max(holder, script.Victim);
                using SecretBytes key = Hkdf.DeriveSecret(shared, session, DomainLabel.For("secagg/share-encryption-key").Add(lo).Add(hi));
                byte[] ad = [.. session, .. BigEndian((uint)holder), .. BigEndian((uint)script.Victim)];
                byte[] plaintext = new byte[Aead.PlaintextLength(sealedShare.Length)];
                Assert.True(Aead.TryOpen(key, ad, sealedShare, plaintext), $"the share of holder {holder} did not open");
                Assert.Equal(74, plaintext.Length); // sender, recipient, a share of b_holder and a share of s_holder
                opened++;
            }
        }

        Assert.Equal(Deployment.Clients - 1, opened);
    }

    private static byte[] BigEndian(uint v) => [(byte)(v >> 24), (byte)(v >> 16), (byte)(v >> 8), (byte)v];
}
