using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SecureFedRec.Client;
using SecureFedRec.Coordinator;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Integration.Tests;

/// <summary>Tests that listen to process-wide activity sources run alone (other tests' coordinators would add spans).</summary>
[CollectionDefinition(nameof(TelemetryCollection), DisableParallelization = true)]
public sealed class TelemetryCollection
{
}

/// <summary>
/// A real coordinator (Kestrel, TLS, loopback) and SDK clients: the round's trace spans and their attributes, the
/// scraped <c>/metrics</c> checked by Prometheus' own <c>promtool check metrics</c>, OTLP export to a collector, a
/// stop mid-round that says what it abandoned, and a budget the coordinator refuses to overspend.
/// </summary>
[Collection(nameof(TelemetryCollection))]
public sealed class ObservabilityTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(40);

    private static double[] Update(RoundContext context) => context.Model.Values.Select(v => 0.1 - v).ToArray();

    private static CoordinatorOptions Options(Federation federation, Action<RoundOptions>? rounds = null) => federation.Options(r =>
    {
        r.CohortSize = 3;
        r.MinClients = 3;
        r.PhaseSeconds = 10;
        rounds?.Invoke(r);
    });

    private static ActivityListener Listen(ConcurrentQueue<Activity> stopped)
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is CoordinatorTelemetry.SourceName or ClientTelemetry.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }

    private static async Task<ClientRoundResult[]> RunRoundAsync(IReadOnlyList<FederationClient> clients) =>
        await Task.WhenAll(clients.Select(c => c.RunRoundAsync(Update))).WaitAsync(Bound);

    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        var started = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(started.Elapsed < Bound, "timed out waiting for " + what);
            await Task.Delay(25);
        }
    }

    [Fact]
    public async Task A_round_and_its_phases_are_traced_with_round_id_phase_and_survivors()
    {
        var stopped = new ConcurrentQueue<Activity>();
        using ActivityListener listener = Listen(stopped);
        await using var federation = new Federation(clients: 3);
        await using CoordinatorHost host = await CoordinatorHost.StartAsync(Options(federation));
        var clients = Enumerable.Range(0, 3).Select(i => federation.Client(i, host.Address)).ToList();
        try
        {
            await Task.WhenAll(clients.Select(c => c.EnrolAsync()));
            ClientRoundResult[] results = await RunRoundAsync(clients);
            Assert.All(results, r => Assert.Equal(RoundOutcomeKind.Completed, r.Kind));
            await WaitForAsync(() => stopped.Any(a => a.OperationName == CoordinatorTelemetry.RoundSpan), "the round span");
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }

        Activity round = Assert.Single(stopped, a => a.OperationName == CoordinatorTelemetry.RoundSpan);
        Assert.Equal(1L, round.GetTagItem("securefedrec.round.id"));
        Assert.Equal(3, round.GetTagItem("securefedrec.round.cohort"));
        Assert.Equal("completed", round.GetTagItem("securefedrec.round.outcome"));
        Assert.Equal(3, round.GetTagItem("securefedrec.round.survivors"));
        Assert.Equal(2L, round.GetTagItem("securefedrec.model.released_version"));
        Assert.True((double)round.GetTagItem("securefedrec.round.epsilon")! > 0);
        Assert.Equal(ActivityStatusCode.Ok, round.Status);

        List<Activity> phases = stopped.Where(a => a.OperationName == CoordinatorTelemetry.PhaseSpan).ToList();
        Assert.Equal(["AdvertiseKeys", "ShareKeys", "MaskedInput", "ConsistencyCheck", "Unmasking"], phases.Select(p => (string)p.GetTagItem("securefedrec.phase")!));
        Assert.All(phases, p =>
        {
            Assert.Equal(round.TraceId, p.TraceId);
            Assert.Equal(round.SpanId, p.ParentSpanId);
            Assert.Equal(round.GetTagItem("securefedrec.round.id"), p.GetTagItem("securefedrec.round.id"));
            Assert.Equal(3, p.GetTagItem("securefedrec.phase.answered"));
            Assert.Equal(3, p.GetTagItem("securefedrec.phase.expected"));
            Assert.True(p.StartTimeUtc >= round.StartTimeUtc && p.StartTimeUtc + p.Duration <= round.StartTimeUtc + round.Duration);
        });
        Assert.Equal(["ShareKeys", "MaskedInput", "ConsistencyCheck", "Unmasking", "Completed"], phases.Select(p => (string)p.GetTagItem("securefedrec.phase.next")!));

        // The SDK's own spans: one enrolment and one round per client.
        Assert.Equal(3, stopped.Count(a => a.OperationName == ClientTelemetry.EnrolSpan));
        List<Activity> clientRounds = stopped.Where(a => a.OperationName == ClientTelemetry.RoundSpan).ToList();
        Assert.Equal(3, clientRounds.Count);
        Assert.All(clientRounds, c =>
        {
            Assert.Equal(round.GetTagItem("securefedrec.round.id"), c.GetTagItem("securefedrec.round.id"));
            Assert.Equal("Completed", c.GetTagItem("securefedrec.round.outcome"));
            Assert.Equal(1L, c.GetTagItem("securefedrec.model.version"));
            Assert.Contains(c.Events, e => e.Name == "selected");
            Assert.True((double)c.GetTagItem("securefedrec.ledger.local_total_epsilon")! > 0);
        });
    }

    [Fact]
    public async Task The_scraped_metrics_pass_promtool_and_carry_the_documented_names()
    {
        string? promtool = Prerequisites.RequirePromtool();
        if (promtool is null)
        {
            return;
        }

        await using var federation = new Federation(clients: 3);
        await using CoordinatorHost host = await CoordinatorHost.StartAsync(Options(federation));
        var clients = Enumerable.Range(0, 3).Select(i => federation.Client(i, host.Address)).ToList();
        try
        {
            await Task.WhenAll(clients.Select(c => c.EnrolAsync()));
            Assert.All(await RunRoundAsync(clients), r => Assert.Equal(RoundOutcomeKind.Completed, r.Kind));
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }

        using X509Certificate2 pinned = X509CertificateLoader.LoadCertificate(federation.PublicCertificate.RawData);
        using var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && certificate.GetRawCertData().AsSpan().SequenceEqual(pinned.RawData),
            },
        };
        using var http = new HttpClient(handler);
        using HttpResponseMessage response = await http.GetAsync(new Uri(host.Address, "/metrics"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        string text = await response.Content.ReadAsStringAsync();

        foreach (string line in new[]
        {
            "securefedrec_rounds_total{outcome=\"completed\"} 1",
            "securefedrec_round_survivors 3",
            "securefedrec_model_version 2",
            "securefedrec_current_round 0",
            "securefedrec_current_phase 0",
            "securefedrec_phase_duration_seconds_count{phase=\"AdvertiseKeys\"} 1",
            "securefedrec_rpcs_total{method=\"JoinRound\",status=\"OK\"} ",
        })
        {
            Assert.Contains(line, text, StringComparison.Ordinal);
        }

        Assert.Matches(@"(?m)^securefedrec_epsilon_spent 0\.\d+|^securefedrec_epsilon_spent [1-9]", text);

        var start = new ProcessStartInfo(promtool, "check metrics") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using Process check = Process.Start(start)!;
        await check.StandardInput.WriteAsync(text);
        check.StandardInput.Close();
        string output = await check.StandardOutput.ReadToEndAsync() + await check.StandardError.ReadToEndAsync();
        await check.WaitForExitAsync().WaitAsync(Bound);
        Assert.True(check.ExitCode == 0, $"promtool check metrics exited {check.ExitCode}: {output}\n{text}");
        Assert.Equal(string.Empty, output.Trim());

        // The check can fail: a malformed exposition is refused by the same tool.
        using Process bad = Process.Start(start)!;
        await bad.StandardInput.WriteAsync("# TYPE securefedrec_rounds_total counter\nsecurefedrec_rounds_total{outcome=completed} x\n");
        bad.StandardInput.Close();
        await bad.StandardOutput.ReadToEndAsync();
        await bad.StandardError.ReadToEndAsync();
        await bad.WaitForExitAsync().WaitAsync(Bound);
        Assert.NotEqual(0, bad.ExitCode);
    }

    [Fact]
    public async Task A_coordinator_stopped_mid_round_logs_what_it_abandoned_and_ends_its_spans()
    {
        var stopped = new ConcurrentQueue<Activity>();
        using ActivityListener listener = Listen(stopped);
        await using var federation = new Federation(clients: 0, roster: false);
        CoordinatorOptions options = Options(federation);
        using var log = new EventCapture();
        CoordinatorHost host = await CoordinatorHost.StartAsync(options, l => l.AddProvider(log).SetMinimumLevel(LogLevel.Information));
        ulong roundId;
        try
        {
            // Three callers join (in process; honest-but-curious rounds need no identities) and never answer.
            foreach (string caller in new[] { "a", "b", "c" })
            {
                host.Engine.Service.Join(caller);
            }

            await WaitForAsync(() => host.Engine.Current.Round != 0, "the round to open");
            roundId = host.Engine.Current.Round;
            Assert.Equal(Phase.AdvertiseKeys, host.Engine.Current.Phase);
        }
        finally
        {
            await host.DisposeAsync();
        }

        string abandoned = Assert.Single(log.Of(2051));
        Assert.Contains($"round {roundId} interrupted in phase AdvertiseKeys", abandoned, StringComparison.Ordinal);
        Assert.Contains("nothing of it is released or charged", abandoned, StringComparison.Ordinal);
        Assert.Empty(log.Of(2050));
        Activity round = Assert.Single(stopped, a => a.OperationName == CoordinatorTelemetry.RoundSpan && (long)a.GetTagItem("securefedrec.round.id")! == (long)roundId);
        Assert.Equal("abandoned_by_shutdown", round.GetTagItem("securefedrec.round.outcome"));
        Assert.Equal(ActivityStatusCode.Error, round.Status);
        Activity phase = Assert.Single(stopped, a => a.OperationName == CoordinatorTelemetry.PhaseSpan && a.ParentSpanId == round.SpanId);
        Assert.Equal("AdvertiseKeys", phase.GetTagItem("securefedrec.phase"));

        // The next start marks it aborted by the restart, and says so.
        using var log2 = new EventCapture();
        await using (CoordinatorHost again = await CoordinatorHost.StartAsync(options, l => l.AddProvider(log2)))
        {
            // Resumed from its journal (its callers are gone, so it aborts at its re-armed deadlines).
            Assert.Contains($"Round {roundId} was open at start-up; resumed from its journal", Assert.Single(log2.Of(2060)), StringComparison.Ordinal);
        }

        Assert.Contains($"Stopping: round {roundId} interrupted", Assert.Single(log2.Of(2051)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Round_spans_are_exported_over_otlp_to_a_collector()
    {
        var bodies = new ConcurrentQueue<byte[]>();
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        await using WebApplication collector = builder.Build();
        collector.MapPost("/v1/traces", async (HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            bodies.Enqueue(body.ToArray());
            return Results.Ok();
        });
        await collector.StartAsync();
        string endpoint = collector.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

        await using var federation = new Federation(clients: 0, roster: false);
        CoordinatorOptions options = Options(federation);
        options.Telemetry.OtlpEndpoint = endpoint;
        options.Telemetry.ServiceName = "sfr-otlp-test";
        await using (CoordinatorHost host = await CoordinatorHost.StartAsync(options))
        {
            foreach (string caller in new[] { "a", "b", "c" })
            {
                host.Engine.Service.Join(caller);
            }

            await WaitForAsync(() => host.Engine.Current.Round != 0, "the round to open");
        }

        // Stopping flushed the exporter: the round (abandoned) and its phase reached the collector.
        string all = string.Join('\n', bodies.Select(b => System.Text.Encoding.UTF8.GetString(b)));
        Assert.Contains(CoordinatorTelemetry.RoundSpan, all, StringComparison.Ordinal);
        Assert.Contains(CoordinatorTelemetry.PhaseSpan, all, StringComparison.Ordinal);
        Assert.Contains("sfr-otlp-test", all, StringComparison.Ordinal);
        Assert.Contains("abandoned_by_shutdown", all, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_coordinator_whose_budget_cannot_release_another_round_opens_none_and_clients_spend_nothing()
    {
        // One planned round: the first spends (almost) the whole budget, the second would exceed it.
        await using var federation = new Federation(clients: 3, roster: false);
        CoordinatorOptions options = Options(federation, r =>
        {
            r.PlannedRounds = 1;
            r.TargetEpsilon = 4;
        });
        using var log = new EventCapture();
        await using CoordinatorHost host = await CoordinatorHost.StartAsync(options, l => l.AddProvider(log));
        var clients = Enumerable.Range(0, 3).Select(i => federation.Client(i, host.Address)).ToList();
        try
        {
            await Task.WhenAll(clients.Select(c => c.EnrolAsync()));
            Assert.All(await RunRoundAsync(clients), r => Assert.Equal(RoundOutcomeKind.Completed, r.Kind));

            RpcException[] refused = await Task.WhenAll(clients.Select(c => Assert.ThrowsAsync<RpcException>(() => c.RunRoundAsync(Update)))).WaitAsync(Bound);
            Assert.All(refused, ex => Assert.Equal(StatusCode.FailedPrecondition, ex.StatusCode));
            Assert.All(clients, c => Assert.Single(c.Ledger.Entries));
            Assert.True(host.Engine.Finished);
            Assert.NotNull(host.Engine.BudgetExhausted);
            string reason = Assert.Single(log.Of(2021));
            Assert.Contains("Round 2 not opened for 3 waiting clients: the coordinator's privacy budget cannot release it", reason, StringComparison.Ordinal);
            Assert.Contains("exceeds 4.0000", reason, StringComparison.Ordinal);
            Assert.Equal(1, host.Engine.ModelVersion - 1);
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }
}
