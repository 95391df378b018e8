using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using SecureFedRec.Client;
using SecureFedRec.Coordinator;
using SecureFedRec.Crypto;
using SecureFedRec.Roster;
using SecureFedRec.Wire.V1;

namespace SecureFedRec.Integration.Tests;

/// <summary>
/// The signed roster over the network (protocol-spec/coordinator.md §4): the coordinator refuses to start on a bad roster,
/// serves its exact bytes, picks up a newly signed roster (and refuses an older one), and stops admitting a revoked member;
/// a client refuses — before any key is made and before anything is charged — every roster a lying coordinator can serve:
/// forged, signed by another authority, expired, rolled back, equivocated, or one in which the client itself is missing,
/// revoked, expired or listed with another key.
/// </summary>
public sealed class RosterOverNetworkTests
{
    public static TheoryData<string, RosterRefusal> StartRefusals => new()
    {
        { "forged", RosterRefusal.BadSignature },
        { "other-authority", RosterRefusal.UnknownAuthority },
        { "expired", RosterRefusal.RosterExpired },
        { "draft", RosterRefusal.Malformed },
    };

    [Theory]
    [MemberData(nameof(StartRefusals))]
    public async Task The_coordinator_refuses_to_start_on_a_bad_roster(string kind, RosterRefusal expected)
    {
        await using var federation = new Federation(clients: 2);
        File.WriteAllBytes(federation.RosterPath, Lie(federation, kind));
        var refused = await Assert.ThrowsAsync<RosterRefusedException>(() => CoordinatorHost.StartAsync(federation.Options()));
        Assert.Equal(expected, refused.Refusal);
        Assert.DoesNotContain('\n', refused.Message);
        Assert.False(File.Exists(Path.Combine(federation.Directory, "coordinator.db")), "the store must not be opened on a refused roster");
    }

    public static TheoryData<string, RosterRefusal> ClientRefusals => new()
    {
        { "forged", RosterRefusal.BadSignature },
        { "other-authority", RosterRefusal.UnknownAuthority },
        { "expired", RosterRefusal.RosterExpired },
        { "rollback", RosterRefusal.Rollback },
        { "equivocation", RosterRefusal.VersionConflict },
        { "self-missing", RosterRefusal.NotInRoster },
        { "self-revoked", RosterRefusal.Revoked },
        { "self-expired", RosterRefusal.MemberExpired },
        { "self-key-replaced", RosterRefusal.KeyMismatch },
    };

    [Theory]
    [MemberData(nameof(ClientRefusals))]
    public async Task A_client_refuses_a_lying_coordinators_roster_before_any_key_and_charges_nothing(string kind, RosterRefusal expected)
    {
        await using var federation = new Federation(clients: 2);
        // Beside the ledger (FederationClientOptions.RosterCheckpointPath default).
        string checkpoint = Path.Combine(federation.Directory, "client-0.ledger") + ".roster";
        if (kind is "rollback" or "equivocation")
        {
            // The client accepted version 2 (rollback) or another version 1 (equivocation) before.
            VerifiedRoster seen = Verify(federation, RosterFile.Format(kind == "rollback"
                ? federation.SignRoster(version: 2)
                : federation.SignRoster(version: 1, c => c with { Consortium = "another-consortium" })));
            RosterCheckpointFile.Write(checkpoint, seen.Checkpoint);
        }

        string? before = File.Exists(checkpoint) ? File.ReadAllText(checkpoint) : null;
        await using LyingCoordinator liar = await LyingCoordinator.StartAsync(Lie(federation, kind));
        using FederationClient client = federation.Client(0, liar.Address);
        Assert.Equal(checkpoint, client.RosterCheckpointPath);

        // The liar implements no Rounds service: reaching JoinRound would be UNIMPLEMENTED, so the typed refusal proves the
        // client stopped at the roster.
        var round = await Assert.ThrowsAsync<RosterRefusedException>(() => client.RunRoundAsync(_ => new double[8]));
        Assert.Equal(expected, round.Refusal);
        var enrol = await Assert.ThrowsAsync<RosterRefusedException>(() => client.EnrolAsync());
        Assert.Equal(expected, enrol.Refusal);
        Assert.Equal(0, liar.EnrolCalls);
        Assert.Equal(0.0, client.Ledger.TotalEpsilon);
        Assert.Equal(before, File.Exists(checkpoint) ? File.ReadAllText(checkpoint) : null);
    }

    [Fact]
    public async Task The_coordinator_serves_its_roster_adopts_a_newer_one_refuses_an_older_one_and_stops_admitting_the_revoked()
    {
        await using var federation = new Federation(clients: 3);
        await using CoordinatorHost host = await CoordinatorHost.StartAsync(federation.Options());
        using FederationClient a = federation.Client(0, host.Address);
        using FederationClient revoked = federation.Client(2, host.Address);

        EnrolResponse enrolled = await a.EnrolAsync();
        Assert.Equal((Federation.Organisation(0), Federation.MemberId(0), 1UL), (enrolled.Organisation, enrolled.RosterClientId, enrolled.RosterVersion));
        Assert.Equal(1UL, RosterCheckpointFile.Read(a.RosterCheckpointPath)!.Version);
        await revoked.EnrolAsync();
        Assert.Equal(1UL, (await revoked.GetModelAsync()).Version);

        // The authority re-signs: version 2 revokes client 2.
        RosterDocument v2 = federation.SignRoster(version: 2, c =>
        {
            Assert.True(RosterAuthority.Revoke(c, Federation.Organisation(2), Federation.MemberId(2), DateTimeOffset.UtcNow.AddSeconds(-1), out RosterContent updated).Passed);
            return updated;
        });
        byte[] v2Bytes = RosterFile.Format(v2);
        File.WriteAllBytes(federation.RosterPath, v2Bytes);
        File.SetLastWriteTimeUtc(federation.RosterPath, DateTime.UtcNow.AddSeconds(1));
        await WaitUntilAsync(async () => (await a.GetRosterAsync()).Version == 2);
        Assert.Equal(2UL, RosterCheckpointFile.Read(a.RosterCheckpointPath)!.Version);

        var denied = await Assert.ThrowsAsync<RpcException>(() => revoked.GetModelAsync());
        Assert.Equal((StatusCode.PermissionDenied, "Permission denied."), (denied.StatusCode, denied.Status.Detail));
        var self = await Assert.ThrowsAsync<RosterRefusedException>(() => revoked.RunRoundAsync(_ => new double[8]));
        Assert.Equal(RosterRefusal.Revoked, self.Refusal);

        // Whoever can write the file puts version 1 back: the coordinator refuses the rollback and keeps serving version 2.
        File.WriteAllBytes(federation.RosterPath, RosterFile.Format(federation.SignRoster(version: 1)));
        File.SetLastWriteTimeUtc(federation.RosterPath, DateTime.UtcNow.AddSeconds(2));
        await Task.Delay(TimeSpan.FromSeconds(6));
        using var channel = new Wire.Client.CoordinatorChannel(host.Address, new Wire.Client.CoordinatorChannelOptions { Pin = Wire.Client.CertificatePin.ForCertificate(federation.PublicCertificate) });
        GetRosterResponse served = await channel.Membership.GetRosterAsync(new GetRosterRequest());
        Assert.Equal(v2Bytes, served.Roster.ToByteArray());
    }

    [Fact]
    public async Task A_networked_round_runs_in_malicious_mode_with_the_cohort_named_and_keyed_by_the_roster()
    {
        await using var federation = new Federation(clients: 4);
        await using CoordinatorHost host = await CoordinatorHost.StartAsync(federation.Options(r =>
        {
            r.CohortSize = 4;
            r.MinClients = 4;
        }));
        var clients = Enumerable.Range(0, 4).Select(i => federation.Client(i, host.Address)).ToList();
        try
        {
            await Task.WhenAll(clients.Select(c => c.EnrolAsync()));
            ClientRoundResult[] results = await Task.WhenAll(clients.Select(c => c.RunRoundAsync(ctx => new double[ctx.Model.Values.Length])));
            Assert.All(results, r => Assert.Equal(RoundOutcomeKind.Completed, r.Kind));
            Rounds.RoundContract contract = host.Engine.Host.LastPlan!.Contract;
            Assert.Equal(Protocol.Wire.ThreatMode.Malicious, contract.Mode);
            Assert.Equal(
                Enumerable.Range(0, 4).Select(i => Federation.Organisation(i) + "/" + Federation.MemberId(i)).Order(StringComparer.Ordinal),
                contract.Cohort.Select(e => e.Organisation + "/" + e.ClientId).Order(StringComparer.Ordinal));
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (!await condition())
        {
            await Task.Delay(200, timeout.Token);
        }
    }

    private static VerifiedRoster Verify(Federation federation, byte[] file)
    {
        RosterVerification result = new RosterVerifier(federation.Authority.Suite, federation.Authority.PublicKey).Verify(file, DateTimeOffset.UtcNow);
        Assert.True(result.Check.Passed, result.Check.ToString());
        return result.Roster!;
    }

    /// <summary>The roster file a lying (or misconfigured) coordinator serves for <paramref name="kind"/>.</summary>
    private static byte[] Lie(Federation federation, string kind)
    {
        DateTimeOffset now = RosterAuthority.TruncateToSecond(DateTimeOffset.UtcNow);
        switch (kind)
        {
            case "forged":
                // The coordinator raises the version (or adds a member) without the authority key: the signature no longer verifies.
                RosterDocument signed = federation.SignRoster(version: 1);
                return RosterFile.Format(signed with { Content = signed.Content with { Version = 9 } });
            case "other-authority":
                using (IdentitySigningKey other = IdentitySigningKey.Generate(IdentitySuite.Ed25519))
                {
                    RosterContent content = federation.SignRoster(version: 1).Content with { AuthoritySuite = other.Suite, AuthorityPublicKey = other.ExportPublicKey() };
                    return RosterFile.Format(RosterAuthority.Sign(content, other));
                }

            case "expired":
                return RosterFile.Format(federation.SignRoster(version: 1, c => c with { NotBefore = now.AddDays(-3), NotAfter = now.AddDays(-1) }));
            case "draft":
                return RosterFile.Format(federation.SignRoster(version: 1) with { Signature = ReadOnlyMemory<byte>.Empty });
            case "rollback":
            case "equivocation":
                return RosterFile.Format(federation.SignRoster(version: 1));
            case "self-missing":
                return RosterFile.Format(federation.SignRoster(version: 1, c => c with { Members = [.. c.Members.Where(m => m.ClientId != Federation.MemberId(0))] }));
            case "self-revoked":
                return RosterFile.Format(federation.SignRoster(version: 1, c =>
                {
                    Assert.True(RosterAuthority.Revoke(c, Federation.Organisation(0), Federation.MemberId(0), now.AddMinutes(-1), out RosterContent updated).Passed);
                    return updated;
                }));
            case "self-expired":
                return RosterFile.Format(federation.SignRoster(version: 1, c => c with
                {
                    Members = [.. c.Members.Select(m => m.ClientId == Federation.MemberId(0) ? m with { NotBefore = now.AddDays(-2), NotAfter = now.AddMinutes(-1) } : m)],
                }));
            case "self-key-replaced":
                using (IdentitySigningKey substitute = IdentitySigningKey.Generate(IdentitySuite.Ed25519))
                {
                    return RosterFile.Format(federation.SignRoster(version: 1, c => c with
                    {
                        Members = [.. c.Members.Select(m => m.ClientId == Federation.MemberId(0) ? m with { PublicKey = substitute.ExportPublicKey() } : m)],
                    }));
                }

            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }
    }

    /// <summary>A coordinator that serves whatever roster bytes it was given (h2c on loopback), a status, and an Enrolment that
    /// counts calls; no Rounds service.</summary>
    private sealed class LyingCoordinator : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly Counter _counter;

        private LyingCoordinator(WebApplication app, Counter counter, Uri address)
        {
            _app = app;
            _counter = counter;
            Address = address;
        }

        public Uri Address { get; }

        public int EnrolCalls => _counter.Enrol;

        public static async Task<LyingCoordinator> StartAsync(byte[] roster)
        {
            WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
            var counter = new Counter();
            builder.Services.AddSingleton(counter);
            builder.Services.AddSingleton(new Served(roster));
            builder.Services.AddGrpc();
            WebApplication app = builder.Build();
            app.MapGrpcService<LyingMembership>();
            app.MapGrpcService<LyingStatus>();
            app.MapGrpcService<CountingEnrolment>();
            await app.StartAsync();
            string bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return new LyingCoordinator(app, counter, new Uri(bound.Replace("[::]", "127.0.0.1", StringComparison.Ordinal) + "/"));
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    private sealed class Counter
    {
        public int Enrol;
    }

    private sealed record Served(byte[] Roster);

    private sealed class LyingMembership(Served served) : Membership.MembershipBase
    {
        public override Task<GetRosterResponse> GetRoster(GetRosterRequest request, ServerCallContext context) =>
            Task.FromResult(new GetRosterResponse { Roster = ByteString.CopyFrom(served.Roster), Version = 1 });
    }

    private sealed class LyingStatus : CoordinatorStatus.CoordinatorStatusBase
    {
        public override Task<GetStatusResponse> GetStatus(GetStatusRequest request, ServerCallContext context) =>
            Task.FromResult(new GetStatusResponse { ApiVersion = "securefedrec.coordinator.v1", ServerTimeUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() });
    }

    private sealed class CountingEnrolment(Counter counter) : Enrolment.EnrolmentBase
    {
        public override Task<EnrolResponse> Enrol(EnrolRequest request, ServerCallContext context)
        {
            Interlocked.Increment(ref counter.Enrol);
            return Task.FromResult(new EnrolResponse());
        }
    }
}
