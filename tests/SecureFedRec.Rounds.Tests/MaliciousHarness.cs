using SecureFedRec.Crypto;
using SecureFedRec.Privacy.Ledger;
using SecureFedRec.Privacy.Policy;
using SecureFedRec.Protocol;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Roster;
using SecureFedRec.Rounds.Client;
using SecureFedRec.Rounds.Server;
using SecureFedRec.Rounds.Transport;
using KeyAgreementSuite = SecureFedRec.Crypto.KeyAgreementSuite;
using PolicyThreatMode = SecureFedRec.Privacy.Policy.ThreatMode;
using ProtocolThreatMode = SecureFedRec.Protocol.Wire.ThreatMode;

namespace SecureFedRec.Rounds.Tests;

/// <summary>
/// An in-memory consortium: an authority key, one Ed25519 identity per client (client i is <c>org-(i mod orgs)/client-i</c>),
/// a roster signed in memory and its verifier. The coordinator side answers <see cref="IdentityOf"/> for
/// <see cref="Harness.Caller"/> names.
/// </summary>
internal sealed class Consortium : IDisposable
{
    private readonly List<IdentitySigningKey> _keys = [];

    public Consortium(int clients, int organisations = 3, ulong seed = 7, Func<RosterContent, RosterContent>? edit = null, IdentitySuite suite = IdentitySuite.Ed25519)
    {
        Organisations = organisations;
        var rng = new DeterministicRandomSource(Harness.Seed("consortium", seed));
        Authority = IdentitySigningKey.Generate(IdentitySuite.Ed25519, rng);
        Now = DateTimeOffset.UtcNow;
        RosterContent draft = RosterAuthority.CreateDraft("test-consortium", Authority, Now.AddHours(-1));
        for (int i = 0; i < clients; i++)
        {
            IdentitySigningKey key = IdentitySigningKey.Generate(suite, rng);
            _keys.Add(key);
            MemberName name = Name(i);
            RosterCheck added = RosterAuthority.AddMember(draft, new RosterMember(name.Organisation, name.ClientId, key.Suite, key.ExportPublicKey(),
                RosterAuthority.TruncateToSecond(Now.AddHours(-1)), RosterAuthority.TruncateToSecond(Now.AddDays(1))), out draft);
            Assert.True(added.Passed, added.ToString());
        }

        Content = edit is null ? draft : edit(draft);
        File = RosterFile.Format(RosterAuthority.Sign(Content, Authority));
        Verifier = new RosterVerifier(Authority.Suite, Authority.PublicKey);
    }

    public int Organisations { get; }

    public IdentitySigningKey Authority { get; }

    public DateTimeOffset Now { get; }

    public RosterContent Content { get; }

    public byte[] File { get; }

    public RosterVerifier Verifier { get; }

    public MemberName Name(int i) =>
        new("org-" + (char)('a' + (i % Organisations)), "client-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public IdentitySigningKey Key(int i) => _keys[i];

    /// <summary>The roster provider a client is given: verifies the signed file now.</summary>
    public Task<RosterVerification> Roster(CancellationToken cancellationToken) => Task.FromResult(Verifier.Verify(File, DateTimeOffset.UtcNow));

    /// <summary>The coordinator's lookup: a <see cref="Harness.Caller"/> name to its roster identity.</summary>
    public Task<CohortIdentity?> IdentityOf(string caller, CancellationToken cancellationToken)
    {
        int i = int.Parse(caller["client-".Length..], System.Globalization.CultureInfo.InvariantCulture);
        return Task.FromResult<CohortIdentity?>(i < _keys.Count ? new CohortIdentity(Name(i).Organisation, Name(i).ClientId, _keys[i].PublicIdentity) : null);
    }

    public IReadOnlyList<CohortEntry> Cohort(int n) => Enumerable.Range(0, n).Select(i => new CohortEntry(i + 1, Name(i).Organisation, Name(i).ClientId)).ToArray();

    public void Dispose()
    {
        foreach (IdentitySigningKey key in _keys)
        {
            key.Dispose();
        }

        Authority.Dispose();
    }
}

internal static class MaliciousHarness
{
    public static RoundSettings Settings(double epsilon = 50) => Harness.Settings(epsilon) with { Mode = ProtocolThreatMode.Malicious };

    /// <summary>The default client policy with floors that a 5-client test round meets (3 organisations, t ≥ 3).</summary>
    public static ClientPrivacyPolicy Policy() => new()
    {
        MaxTotalEpsilon = 1e6,
        Delta = 1e-3,
        MinNoiseMultiplier = 0,
        MaxClip = 1e6,
        AcceptedThreatModes = new HashSet<PolicyThreatMode> { PolicyThreatMode.CuriousServer, PolicyThreatMode.SemiMalicious },
        MinThresholdFraction = 0.1,
    };

    public static RoundHost Host(Consortium consortium, int clients, IPrivacyLedger ledger, RoundHostEvents events, RoundSettings? settings = null) =>
        new(new RoundHostOptions
        {
            Settings = settings ?? Settings(),
            CohortSize = clients,
            MinClients = Math.Min(3, clients),
            Random = new DeterministicRandomSource(Harness.Seed("cohort", 1)),
            IdentityOf = consortium.IdentityOf,
        }, new ModelRelease(1, 0, new double[Harness.Dimension], 0, 0), ledger, new FedAvgRule(), events);

    /// <summary>A malicious-mode client <paramref name="index"/> of <paramref name="consortium"/>; the optional arguments break one thing each.</summary>
    public static ClientRound Client(Consortium consortium, int index, IPrivacyLedger? ledger = null, ClientPrivacyPolicy? policy = null,
        Phase? silentAfter = null, bool noIdentity = false, IdentitySigningKey? identity = null, MemberName? self = null,
        Func<CancellationToken, Task<RosterVerification>>? roster = null, CohortPolicy? cohortPolicy = null, List<string>? warnings = null,
        Func<UpdateRequest, double[]>? update = null)
    {
        policy ??= Policy();
        ledger ??= new MemoryPrivacyLedger(new PrivacyBudget(policy.MaxTotalEpsilon, policy.Delta));
        return new ClientRound(new ClientRoundOptions
        {
            Guard = new ClientPrivacyGuard(policy, ledger),
            UpdateSource = (request, _) => Task.FromResult(LocalUpdate.FromTotal(update?.Invoke(request) ?? Update(index))),
            ProtocolRandom = new DeterministicRandomSource(Harness.Seed("protocol-" + index, 1)),
            NoiseRandom = new DeterministicRandomSource(Harness.Seed("noise-" + index, 1)),
            SilentAfter = silentAfter,
            JoinTimeout = TimeSpan.FromSeconds(30),
            Identity = noIdentity ? null : identity ?? consortium.Key(index),
            Self = self ?? consortium.Name(index),
            Roster = roster ?? consortium.Roster,
            CohortPolicy = cohortPolicy ?? new CohortPolicy(Math.Min(3, consortium.Organisations)),
            OnWarning = warnings is null ? null : w =>
            {
                lock (warnings)
                {
                    warnings.Add(w);
                }
            },
        });
    }

    public static double[] Update(int index) => Enumerable.Range(0, Harness.Dimension).Select(j => 0.05 * (((index + j) % 5) - 2)).ToArray();

    /// <summary>
    /// A genuine malicious-mode invitation for client <paramref name="number"/> of an <paramref name="n"/>-client round, as
    /// a coordinator would send it, after <paramref name="contract"/> changed the contract (the binding follows it) and
    /// <paramref name="parameters"/> changed the secure-aggregation parameters (the binding does not follow them).
    /// </summary>
    public static RoundInvitation Invitation(Consortium consortium, int n, int number, ulong roundId = 1, Func<RoundContract, RoundContract>? contract = null,
        Action<RoundParameters>? parameters = null, RoundSettings? settings = null)
    {
        Assert.True(RoundPlanner.TryPlan(settings ?? Settings(), roundId, 1, n, out RoundPlan? plan, out _, out string? detail), detail);
        RoundContract c = plan!.Contract with { Cohort = consortium.Cohort(n) };
        c = contract?.Invoke(c) ?? c;
        RoundParameters p = SecAggParameters.Create(roundId, Enumerable.Range(1, n).ToArray(), plan.Threshold, plan.Contract.SecAggDimension,
            plan.Contract.Dp.Bits, plan.Contract.Mode, KeyAgreementSuite.X25519, plan.Graph, plan.Degree, c.Binding()).ToWire();
        parameters?.Invoke(p);
        return new RoundInvitation(c, number, new ServerToClient { BeginRound = new BeginRound { Parameters = p } }, DateTimeOffset.UtcNow.AddMinutes(1));
    }

    /// <summary>Recomputes the binding of a contract whose parameters <paramref name="p"/> were built for another one.</summary>
    public static void Rebind(RoundParameters p, RoundContract c) => p.Binding = Google.Protobuf.ByteString.CopyFrom(c.Binding());
}

/// <summary>
/// A scripted coordinator for one client: selects it with the given invitation, records everything it submits, accepts
/// every submission and answers every fetch with <see cref="FetchOutcome.Aborted"/> (or with <paramref name="fetch"/>).
/// </summary>
internal sealed class ScriptedCoordinator(RoundInvitation invitation, Func<Phase, FetchReply>? fetch = null, Action<ClientToServer>? onSubmit = null) : IRoundTransport
{
    public List<ClientToServer> Sent { get; } = [];

    public bool ModelFetched { get; private set; }

    public Task<JoinReply> JoinAsync(CancellationToken cancellationToken) =>
        Task.FromResult(new JoinReply(JoinOutcome.Selected, invitation, TimeSpan.Zero));

    public Task<SubmitReply> SubmitAsync(ulong roundId, Phase phase, ClientToServer message, CancellationToken cancellationToken)
    {
        onSubmit?.Invoke(message);
        Sent.Add(message);
        return Task.FromResult(new SubmitReply(SubmitOutcome.Accepted, RoundRefusal.None, null, invitation.Deadline));
    }

    public Task<FetchReply> FetchAsync(ulong roundId, Phase phase, CancellationToken cancellationToken) =>
        Task.FromResult(fetch?.Invoke(phase) ?? new FetchReply(FetchOutcome.Aborted, null, DropReason.Unspecified, RoundRefusal.None, invitation.Deadline, TimeSpan.Zero));

    public Task<ModelRelease> GetModelAsync(ulong version, CancellationToken cancellationToken)
    {
        ModelFetched = true;
        return Task.FromResult(new ModelRelease(1, 0, new double[Harness.Dimension], 0, 0));
    }

    /// <summary>Nothing but a ClientAbort (a decline) was sent: no key, no share, no masked input.</summary>
    public bool SentNothingButDecline => Sent.All(m => m.MessageCase == ClientToServer.MessageOneofCase.Abort);
}

/// <summary>A transport that sees (and may rewrite) what one client fetches and submits.</summary>
internal sealed class ObservingTransport(IRoundTransport inner, Action<ClientToServer>? beforeSubmit = null, Func<ServerToClient, ServerToClient>? fetched = null) : IRoundTransport
{
    public Task<JoinReply> JoinAsync(CancellationToken cancellationToken) => inner.JoinAsync(cancellationToken);

    public Task<SubmitReply> SubmitAsync(ulong roundId, Phase phase, ClientToServer message, CancellationToken cancellationToken)
    {
        beforeSubmit?.Invoke(message);
        return inner.SubmitAsync(roundId, phase, message, cancellationToken);
    }

    public async Task<FetchReply> FetchAsync(ulong roundId, Phase phase, CancellationToken cancellationToken)
    {
        FetchReply reply = await inner.FetchAsync(roundId, phase, cancellationToken).ConfigureAwait(false);
        return fetched is not null && reply.Message is { } m ? reply with { Message = fetched(m.Clone()) } : reply;
    }

    public Task<ModelRelease> GetModelAsync(ulong version, CancellationToken cancellationToken) => inner.GetModelAsync(version, cancellationToken);
}
