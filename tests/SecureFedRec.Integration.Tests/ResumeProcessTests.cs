using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using SecureFedRec.Coordinator.Storage;
using SecureFedRec.Privacy;
using SecureFedRec.Privacy.Ledger;
using FederationClient = SecureFedRec.Client.FederationClient;
using SecureFedRec.Privacy.Policy;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Rounds;
using SecureFedRec.Rounds.Client;
using SecureFedRec.Rounds.Transport;
using SecureFedRec.Wire;
using SecureFedRec.Wire.Client;

namespace SecureFedRec.Integration.Tests;

/// <summary>A client transport that stops just before submitting one phase until the test lets it go.</summary>
internal sealed class HoldingTransport(IRoundTransport inner, Phase holdBefore) : IRoundTransport
{
    private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Reached => _reached.Task;

    public void Release() => _released.TrySetResult();

    public Task<JoinReply> JoinAsync(CancellationToken cancellationToken) => inner.JoinAsync(cancellationToken);

    public async Task<SubmitReply> SubmitAsync(ulong roundId, Phase phase, ClientToServer message, CancellationToken cancellationToken)
    {
        if (phase == holdBefore)
        {
            _reached.TrySetResult();
            await _released.Task.WaitAsync(cancellationToken);
        }

        return await inner.SubmitAsync(roundId, phase, message, cancellationToken);
    }

    public Task<FetchReply> FetchAsync(ulong roundId, Phase phase, CancellationToken cancellationToken) => inner.FetchAsync(roundId, phase, cancellationToken);

    public Task<ModelRelease> GetModelAsync(ulong version, CancellationToken cancellationToken) => inner.GetModelAsync(version, cancellationToken);
}

/// <summary>
/// The coordinator as a child process killed with SIGKILL in each phase of a round and restarted on the same store and
/// port: the SDK's client round (ClientRound over the gRPC transport, retrying UNAVAILABLE while the coordinator is
/// down) completes the SAME round, ε is charged once, one model version is released. Honest-but-curious (allow-list)
/// and malicious mode (signed roster, the default; the resumed round replays the journaled signatures under the journaled
/// identity keys).
/// </summary>
public sealed class ResumeProcessTests
{
    private const int Cohort = 3;

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string WriteConfig(Federation federation, int port, double phaseSeconds)
    {
        var coordinator = new Dictionary<string, object>(federation.AdmissionSettings())
        {
            ["ListenAddress"] = "127.0.0.1",
            ["Port"] = port,
            ["CertificatePath"] = "coordinator.crt",
            ["CertificateKeyPath"] = "coordinator.key",
            ["Store"] = "coordinator.db",
            ["Rounds"] = federation.UsesRoster
                ? new { CohortSize = Cohort, MinClients = Cohort, Dimension = 4, PhaseSeconds = phaseSeconds, RecruitSeconds = 1 }
                : new { CohortSize = Cohort, MinClients = Cohort, Dimension = 4, PhaseSeconds = phaseSeconds, RecruitSeconds = 1, ThreatMode = "HonestButCurious", AllowHonestButCurious = true },
        };
        string path = Path.Combine(federation.Directory, "coordinator.json");
        File.WriteAllText(path, JsonSerializer.Serialize(new { Coordinator = coordinator }));
        return path;
    }

    /// <summary>The SDK's round (the code FederationClient runs) over a patient channel: ~15 s of UNAVAILABLE retries.</summary>
    private static (ClientRound Round, CoordinatorChannel Channel) PatientClient(Federation federation, int index, Uri address)
    {
        var channel = new CoordinatorChannel(address, new CoordinatorChannelOptions
        {
            Pin = CertificatePin.ForCertificate(federation.PublicCertificate),
            Authenticator = federation.Identities[index],
            MaxAttempts = 40,
            InitialBackoff = TimeSpan.FromMilliseconds(100),
            MaxBackoff = TimeSpan.FromMilliseconds(400),
        });
        ClientPrivacyPolicy policy = Federation.Policy;
        var round = new ClientRound(new ClientRoundOptions
        {
            Guard = new ClientPrivacyGuard(policy, new MemoryPrivacyLedger(new PrivacyBudget(policy.MaxTotalEpsilon, policy.Delta))),
            UpdateSource = (request, _) => Task.FromResult(LocalUpdate.FromTotal(Update(index, request))),
            JoinTimeout = TimeSpan.FromSeconds(60),
        });
        return (round, channel);
    }

    private static double[] Update(int index, UpdateRequest request) =>
        Enumerable.Range(0, request.Model.Values.Length).Select(j => 0.1 * (index + 1) - (0.01 * j)).ToArray();

    /// <summary>
    /// A malicious-mode SDK round: the roster fetched and verified through a FederationClient (pinned authority,
    /// checkpoint, its own entry), its identity key signing, its cohort policy; 30 s of patience for UNAVAILABLE.
    /// </summary>
    private static (ClientRound Round, FederationClient Client) RosterClient(Federation federation, int index, Uri address)
    {
        var client = federation.Client(index, address, patience: TimeSpan.FromSeconds(30));
        ClientPrivacyPolicy policy = Federation.Policy;
        var round = new ClientRound(new ClientRoundOptions
        {
            Guard = new ClientPrivacyGuard(policy, new MemoryPrivacyLedger(new PrivacyBudget(policy.MaxTotalEpsilon, policy.Delta))),
            UpdateSource = (request, _) => Task.FromResult(LocalUpdate.FromTotal(Update(index, request))),
            JoinTimeout = TimeSpan.FromSeconds(60),
            Identity = federation.Identities[index].SigningKey,
            Roster = client.VerifyRosterAsync,
            Self = new MemberName(Federation.Organisation(index), Federation.MemberId(index)),
            CohortPolicy = client.CohortPolicy,
        });
        return (round, client);
    }

    [Theory]
    [InlineData(false, Phase.AdvertiseKeys)]
    [InlineData(false, Phase.ShareKeys)]
    [InlineData(false, Phase.MaskedInput)]
    [InlineData(false, Phase.Unmasking)]
    [InlineData(true, Phase.ConsistencyCheck)]
    public async Task A_coordinator_killed_in_a_phase_resumes_the_same_round_on_restart_and_the_clients_complete_it(bool malicious, Phase killIn)
    {
        await using var federation = new Federation(clients: Cohort, roster: malicious);
        string db = Path.Combine(federation.Directory, "coordinator.db");
        (Task<ClientRoundResult>[] runs, string first, string second) = await KillAndRestartAsync(federation, killIn);
        ClientRoundResult[] results = await Task.WhenAll(runs);
        Assert.All(results, r => Assert.True((ClientRoundOutcome.Completed, 1UL) == (r.Outcome, r.RoundId), $"{r}\nfirst:\n{first}\nsecond:\n{second}"));
        Assert.Contains("resumed from its journal", second, StringComparison.Ordinal);
        Assert.Contains("in phase " + killIn, second, StringComparison.Ordinal);

        await using var store = new SqliteCoordinatorStore(db);
        Assert.Equal(["round-1"], (await store.ListLedgerAsync()).Select(e => e.RoundId));
        Assert.Equal([1L, 2L], (await store.ListModelsAsync()).Select(m => m.Version));
        RoundRecord round1 = (await store.GetRoundAsync(1))!;
        Assert.Equal(("Completed", "Completed"), (round1.Phase, round1.Outcome));
        Assert.Empty(await store.ListJournalAsync(1));
        Assert.True((await store.VerifyLedgerAsync(allModelBytes: true)).Intact);
    }

    /// <summary>
    /// Starts the coordinator, runs <see cref="Cohort"/> SDK rounds with client 0 held before its <paramref name="killIn"/>
    /// message, SIGKILLs the coordinator once the others' messages had time to be journaled, runs
    /// <paramref name="beforeRestart"/>, restarts it on the same store and port, and returns the clients' results and both
    /// processes' output (each run finished: completed or faulted).
    /// </summary>
    private static async Task<(Task<ClientRoundResult>[] Runs, string First, string Second)> KillAndRestartAsync(Federation federation, Phase killIn,
        Action? beforeRestart = null)
    {
        string config = WriteConfig(federation, FreePort(), phaseSeconds: 20);
        var disposables = new List<IDisposable>();
        using CliProcess first = CliProcess.Start("coordinator", "--config", config);
        Uri address = await first.ListeningAsync(TimeSpan.FromSeconds(60));
        CliProcess? second = null;
        try
        {
            for (int i = 0; i < Cohort; i++)
            {
                using var enrolling = federation.Client(i, address);
                await enrolling.EnrolAsync();
            }

            var transports = new List<HoldingTransport>();
            var runs = new List<Task<ClientRoundResult>>();
            for (int i = 0; i < Cohort; i++)
            {
                ClientRound round;
                IRoundTransport inner;
                if (federation.UsesRoster)
                {
                    (round, FederationClient client) = RosterClient(federation, i, address);
                    disposables.Add(client);
                    inner = client.RoundTransport;
                }
                else
                {
                    (round, CoordinatorChannel channel) = PatientClient(federation, i, address);
                    disposables.Add(channel);
                    inner = new GrpcRoundTransport(channel);
                }

                // Client 0 stops before its message of the phase to kill in; the others go ahead (and wait for it).
                var transport = new HoldingTransport(inner, i == 0 ? killIn : Phase.Unspecified);
                transports.Add(transport);
                runs.Add(Task.Run(() => round.RunAsync(transport)));
            }

            await transports[0].Reached.WaitAsync(TimeSpan.FromSeconds(30));

            // Let the other clients' messages of this phase arrive (and be journaled), then crash.
            await Task.Delay(400);
            first.Kill();
            beforeRestart?.Invoke();
            transports[0].Release();

            second = CliProcess.Start("coordinator", "--config", config);
            Assert.Equal(address, await second.ListeningAsync(TimeSpan.FromSeconds(60)));
            await Task.WhenAll(runs.Select(r => r.ContinueWith(_ => { }, TaskScheduler.Default))).WaitAsync(TimeSpan.FromSeconds(40));
            return ([.. runs], first.Output, second.Output);
        }
        finally
        {
            disposables.ForEach(d => d.Dispose());
            second?.Kill();
            second?.Dispose();
        }
    }
}
