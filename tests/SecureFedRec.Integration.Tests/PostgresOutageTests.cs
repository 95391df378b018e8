using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using SecureFedRec.Coordinator;
using SecureFedRec.Coordinator.Storage;
using SecureFedRec.Privacy;
using SecureFedRec.Privacy.Ledger;
using SecureFedRec.Privacy.Policy;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Rounds;
using SecureFedRec.Rounds.Client;
using SecureFedRec.Rounds.Transport;
using SecureFedRec.Wire;
using SecureFedRec.Wire.Client;

namespace SecureFedRec.Integration.Tests;

/// <summary>
/// A private PostgreSQL server for one test: a fresh data directory (initdb, trust authentication, fsync off) and its own
/// postmaster on a free loopback port and a private socket directory, run from Debian's binaries (package postgresql,
/// scripts/install-prereqs.sh) as the <c>postgres</c> user when the tests run as root. The test stops and starts it at
/// will without touching the shared cluster other store tests use. Disposal stops it and deletes the directory.
/// </summary>
internal sealed class PrivatePostgres : IAsyncDisposable
{
    private readonly string _bin;
    private readonly bool _asPostgres;

    private PrivatePostgres(string bin, bool asPostgres, string directory, int port)
    {
        _bin = bin;
        _asPostgres = asPostgres;
        Directory = directory;
        Port = port;
    }

    public string Directory { get; }

    public int Port { get; }

    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=securefedrec;Database=postgres;Timeout=5;Command Timeout=10";

    private string Data => Path.Combine(Directory, "data");

    /// <summary>The newest installed server's bin directory and whether it must run as <c>postgres</c>, or why not.</summary>
    private static (string? Bin, bool AsPostgres, string? Problem) Find()
    {
        const string installed = "/usr/lib/postgresql";
        string? bin = System.IO.Directory.Exists(installed)
            ? System.IO.Directory.GetDirectories(installed)
                .Select(d => Path.Combine(d, "bin"))
                .Where(b => File.Exists(Path.Combine(b, "initdb")) && File.Exists(Path.Combine(b, "pg_ctl")))
                .OrderByDescending(b => int.TryParse(Path.GetFileName(Path.GetDirectoryName(b)), out int v) ? v : 0)
                .FirstOrDefault()
            : null;
        if (bin is null)
        {
            return (null, false, "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (Debian: postgresql)");
        }

        // The postmaster refuses to run as root: as root, run it as the postgres user the package creates.
        bool root = Environment.UserName == "root";
        if (root && Run("id", ["-u", "postgres"], asPostgres: false).Code != 0)
        {
            return (null, false, "running as root and there is no postgres user to run the server as");
        }

        return (bin, root, null);
    }

    /// <summary>Initialises and starts a server; null (locally) or a failed assertion (CI) when PostgreSQL is not installed.</summary>
    public static async Task<PrivatePostgres?> StartAsync()
    {
        (string? bin, bool asPostgres, string? problem) = Find();
        if (bin is null)
        {
            string message = "PostgreSQL outage test: " + problem + ". Run scripts/install-prereqs.sh.";
            if (Prerequisites.InCi)
            {
                Assert.Fail(message);
            }

            Console.Error.WriteLine("SKIPPED (not CI): " + message);
            return null;
        }

        string directory = System.IO.Directory.CreateTempSubdirectory("sfr-pg-").FullName;
        if (asPostgres)
        {
            Assert.Equal(0, Run("chown", ["postgres:postgres", directory], asPostgres: false).Code);
        }

        var server = new PrivatePostgres(bin, asPostgres, directory, FreePort());
        (int code, string output) = server.Tool("initdb", "-D", server.Data, "-U", "securefedrec", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C");
        Assert.True(code == 0, "initdb failed:\n" + output);
        await server.StartServerAsync();
        return server;
    }

    /// <summary>Starts the postmaster and waits until it accepts connections.</summary>
    public Task StartServerAsync()
    {
        string options = $"-p {Port} -k {Directory} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=50";
        (int code, string output) = Tool("pg_ctl", "-D", Data, "-l", Path.Combine(Directory, "server.log"), "-w", "-t", "60", "-o", options, "start");
        Assert.True(code == 0, "pg_ctl start failed:\n" + output + "\n" + Log());
        return Task.CompletedTask;
    }

    /// <summary>Stops the postmaster the hard way (immediate: every connection cut, crash recovery at the next start).</summary>
    public void Stop()
    {
        (int code, string output) = Tool("pg_ctl", "-D", Data, "-m", "immediate", "-w", "-t", "60", "stop");
        Assert.True(code == 0, "pg_ctl stop failed:\n" + output);
    }

    public string Log()
    {
        try
        {
            return File.ReadAllText(Path.Combine(Directory, "server.log"));
        }
        catch (IOException ex)
        {
            return "(no server log: " + ex.Message + ")";
        }
    }

    public ValueTask DisposeAsync()
    {
        Tool("pg_ctl", "-D", Data, "-m", "immediate", "-w", "-t", "60", "stop");
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A server process still exiting may hold a file for a moment; the OS temp cleaner takes it.
        }
        catch (UnauthorizedAccessException)
        {
        }

        return ValueTask.CompletedTask;
    }

    private (int Code, string Output) Tool(string tool, params string[] arguments) => Run(Path.Combine(_bin, tool), arguments, _asPostgres);

    private static (int Code, string Output) Run(string file, string[] arguments, bool asPostgres)
    {
        var start = asPostgres ? new ProcessStartInfo("runuser", ["-u", "postgres", "--", file, .. arguments]) : new ProcessStartInfo(file, arguments);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.WorkingDirectory = "/";
        using Process process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(120_000))
        {
            process.Kill(entireProcessTree: true);
            return (-1, file + " timed out");
        }

        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>A transport that records every failure a call surfaced to the client round (status codes of RPC errors).</summary>
internal sealed class StatusRecordingTransport(IRoundTransport inner) : IRoundTransport
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<Grpc.Core.StatusCode> _failures = new();

    public IReadOnlyCollection<Grpc.Core.StatusCode> Failures => _failures;

    public Task<JoinReply> JoinAsync(CancellationToken cancellationToken) => Record(() => inner.JoinAsync(cancellationToken));

    public Task<SubmitReply> SubmitAsync(ulong roundId, Phase phase, ClientToServer message, CancellationToken cancellationToken) =>
        Record(() => inner.SubmitAsync(roundId, phase, message, cancellationToken));

    public Task<FetchReply> FetchAsync(ulong roundId, Phase phase, CancellationToken cancellationToken) => Record(() => inner.FetchAsync(roundId, phase, cancellationToken));

    public Task<ModelRelease> GetModelAsync(ulong version, CancellationToken cancellationToken) => Record(() => inner.GetModelAsync(version, cancellationToken));

    private async Task<T> Record<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (Grpc.Core.RpcException ex)
        {
            _failures.Enqueue(ex.StatusCode);
            throw;
        }
    }
}

/// <summary>
/// PostgreSQL really stopped mid-round (a private postmaster, <c>pg_ctl stop -m immediate</c>) and started again: the
/// coordinator retries the store inside itself and answers UNAVAILABLE while it is down (never UNKNOWN), publishes no
/// phase whose store write did not succeed, and the round completes once PostgreSQL is back — charged once, one model
/// version, the ledger chain intact.
/// </summary>
public sealed class PostgresOutageTests
{
    private const int Cohort = 3;

    [Theory]
    [InlineData(Phase.ShareKeys)]
    [InlineData(Phase.Unmasking)]
    public async Task PostgreSQL_stopped_mid_round_delays_the_round_which_completes_once_it_is_back_charged_once(Phase during)
    {
        await using PrivatePostgres? postgres = await PrivatePostgres.StartAsync();
        if (postgres is null)
        {
            return;
        }

        await using var federation = new Federation(clients: Cohort, roster: false);
        CoordinatorOptions options = federation.Options(r =>
        {
            r.CohortSize = Cohort;
            r.MinClients = Cohort;
            r.PhaseSeconds = 60;
        });
        options.StoreProvider = "postgres";
        options.Store = postgres.ConnectionString;
        await using CoordinatorHost host = await CoordinatorHost.StartAsync(options, null);
        var channels = new List<CoordinatorChannel>();
        var recorders = new List<StatusRecordingTransport>();
        bool running = true;
        try
        {
            var transports = new List<HoldingTransport>();
            var runs = new List<Task<ClientRoundResult>>();
            for (int i = 0; i < Cohort; i++)
            {
                using (var enrolling = federation.Client(i, host.Address))
                {
                    await enrolling.EnrolAsync();
                }

                var channel = new CoordinatorChannel(host.Address, new CoordinatorChannelOptions
                {
                    Pin = CertificatePin.ForCertificate(federation.PublicCertificate),
                    Authenticator = federation.Identities[i],
                    MaxAttempts = 0, // patience: keep trying (bounded by the test's own timeout)
                    InitialBackoff = TimeSpan.FromMilliseconds(100),
                    MaxBackoff = TimeSpan.FromMilliseconds(400),
                });
                channels.Add(channel);
                ClientPrivacyPolicy policy = Federation.Policy;
                int index = i;
                var round = new ClientRound(new ClientRoundOptions
                {
                    Guard = new ClientPrivacyGuard(policy, new MemoryPrivacyLedger(new PrivacyBudget(policy.MaxTotalEpsilon, policy.Delta))),
                    UpdateSource = (request, _) => Task.FromResult(LocalUpdate.FromTotal(request.Model.Values.Select(v => 0.05 * (index + 1)).ToArray())),
                });
                var recorder = new StatusRecordingTransport(new GrpcRoundTransport(channel));
                recorders.Add(recorder);
                var transport = new HoldingTransport(recorder, i == 0 ? during : Phase.Unspecified);
                transports.Add(transport);
                runs.Add(Task.Run(() => round.RunAsync(transport)));
            }

            await transports[0].Reached.WaitAsync(TimeSpan.FromSeconds(30));
            await Task.Delay(500);
            postgres.Stop();
            running = false;
            transports[0].Release();

            // While PostgreSQL is down, a call that needs the store ends UNAVAILABLE (retryable), not UNKNOWN; the held
            // client's message is not acknowledged and no further phase is published.
            using (var impatient = new SecureFedRec.Client.FederationClient(federation.ClientOptions(0, host.Address,
                ledger: Path.Combine(federation.Directory, "impatient.ledger"), maxAttempts: 1)))
            {
                var down = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => impatient.EnrolAsync());
                Assert.Equal(Grpc.Core.StatusCode.Unavailable, down.StatusCode);
            }

            await Task.Delay(2000);
            Assert.All(runs, r => Assert.False(r.IsCompleted, "a client finished while the store was down"));

            await postgres.StartServerAsync();
            running = true;
            ClientRoundResult[] results = await Task.WhenAll(runs).WaitAsync(TimeSpan.FromSeconds(90));
            Assert.All(results, r => Assert.Equal((ClientRoundOutcome.Completed, 1UL), (r.Outcome, r.RoundId)));
            Assert.Equal(2, host.Engine.ModelVersion);

            // Whatever the clients met on the way was retryable: never UNKNOWN (nor INTERNAL).
            Assert.All(recorders.SelectMany(r => r.Failures), code => Assert.Equal(Grpc.Core.StatusCode.Unavailable, code));
        }
        finally
        {
            channels.ForEach(c => c.Dispose());
            if (!running)
            {
                await postgres.StartServerAsync();
            }
        }

        await using var store = new PostgresCoordinatorStore(postgres.ConnectionString);
        Assert.Equal(["round-1"], (await store.ListLedgerAsync()).Select(e => e.RoundId));
        Assert.Equal([1L, 2L], (await store.ListModelsAsync()).Select(m => m.Version));
        Assert.Equal(("Completed", "Completed"), ((await store.GetRoundAsync(1))!.Phase, (await store.GetRoundAsync(1))!.Outcome));
        Assert.Empty(await store.ListJournalAsync(1));
        Assert.True((await store.VerifyLedgerAsync(allModelBytes: true)).Intact);
    }
}
