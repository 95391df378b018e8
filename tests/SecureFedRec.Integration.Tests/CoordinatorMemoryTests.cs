using SecureFedRec.Client;
using SecureFedRec.Coordinator;
using SecureFedRec.Coordinator.Grpc;
using SecureFedRec.Wire.V1;

namespace SecureFedRec.Integration.Tests;

/// <summary>
/// What bounds the coordinator's memory when a whole cohort talks to it at once (protocol-spec/coordinator.md §3.1, §4.2):
/// the upload admission gate (declared bytes of large bodies read at once, one per client, first come first served, a
/// waiter never refused), and the roster's <c>not_modified</c> reply (n clients checking an unchanged roster do not
/// download n copies of it).
/// </summary>
public sealed class CoordinatorMemoryTests
{
    private static readonly TimeSpan s_soon = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task The_gate_admits_within_its_budget_in_arrival_order_and_a_release_admits_the_next()
    {
        var gate = new UploadAdmission(1000);
        UploadAdmission.Lease a = await gate.AcquireAsync("a", 600, CancellationToken.None);
        ValueTask<UploadAdmission.Lease> b = gate.AcquireAsync("b", 600, CancellationToken.None);
        ValueTask<UploadAdmission.Lease> c = gate.AcquireAsync("c", 100, CancellationToken.None);
        // c would fit, but b came first: nobody overtakes a waiter that does not fit yet.
        Assert.False(b.IsCompleted);
        Assert.False(c.IsCompleted);
        Assert.Equal(2, gate.Waiting);

        a.Dispose();
        using UploadAdmission.Lease bLease = await b.AsTask().WaitAsync(s_soon);
        using UploadAdmission.Lease cLease = await c.AsTask().WaitAsync(s_soon);
        Assert.Equal(700, gate.InUseBytes);
        Assert.Equal(0, gate.Waiting);
        a.Dispose(); // a second dispose returns nothing twice
        Assert.Equal(700, gate.InUseBytes);
        Assert.Equal((3L, 2L), gate.Counts);
        Assert.Equal(700, gate.PeakInUseBytes);
    }

    [Fact]
    public async Task A_message_larger_than_the_budget_is_admitted_alone()
    {
        var gate = new UploadAdmission(1000);
        UploadAdmission.Lease small = await gate.AcquireAsync("a", 10, CancellationToken.None);
        ValueTask<UploadAdmission.Lease> huge = gate.AcquireAsync("b", 5000, CancellationToken.None);
        Assert.False(huge.IsCompleted);
        small.Dispose();
        using UploadAdmission.Lease lease = await huge.AsTask().WaitAsync(s_soon);
        Assert.Equal(5000, gate.InUseBytes);
        ValueTask<UploadAdmission.Lease> next = gate.AcquireAsync("c", 1, CancellationToken.None);
        Assert.False(next.IsCompleted);
        lease.Dispose();
        (await next.AsTask().WaitAsync(s_soon)).Dispose();
        Assert.Equal(0, gate.InUseBytes);
    }

    [Fact]
    public async Task One_client_holds_one_lease_and_its_second_upload_does_not_block_other_clients()
    {
        var gate = new UploadAdmission(1000);
        UploadAdmission.Lease first = await gate.AcquireAsync("a", 100, CancellationToken.None);
        ValueTask<UploadAdmission.Lease> second = gate.AcquireAsync("a", 100, CancellationToken.None);
        Assert.False(second.IsCompleted);
        // Another client behind a's waiting second upload is admitted at once: a waits for its own lease only.
        ValueTask<UploadAdmission.Lease> other = gate.AcquireAsync("b", 100, CancellationToken.None);
        Assert.True(other.IsCompleted);
        using UploadAdmission.Lease otherLease = await other.AsTask().WaitAsync(s_soon);
        Assert.False(second.IsCompleted);
        first.Dispose();
        using UploadAdmission.Lease secondLease = await second.AsTask().WaitAsync(s_soon);
        Assert.Equal(200, gate.InUseBytes);
    }

    [Fact]
    public async Task A_waiter_whose_call_ends_leaves_the_queue_and_the_next_is_admitted()
    {
        var gate = new UploadAdmission(1000);
        UploadAdmission.Lease held = await gate.AcquireAsync("a", 900, CancellationToken.None);
        using var gone = new CancellationTokenSource();
        ValueTask<UploadAdmission.Lease> cancelled = gate.AcquireAsync("b", 900, gone.Token);
        ValueTask<UploadAdmission.Lease> behind = gate.AcquireAsync("c", 100, CancellationToken.None);
        Assert.False(behind.IsCompleted);
        await gone.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.AsTask().WaitAsync(s_soon));
        using UploadAdmission.Lease lease = await behind.AsTask().WaitAsync(s_soon);
        Assert.Equal(1000, gate.InUseBytes);
        held.Dispose();
        Assert.Equal(100, gate.InUseBytes);
        Assert.Equal(0, gate.Waiting);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gate.AcquireAsync("d", 5000, gone.Token).AsTask());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void The_gate_refuses_a_budget_below_one_byte(long budget) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new UploadAdmission(budget));

    [Theory]
    [InlineData(1_048_575, 65_535, "MaxBufferedUploadBytes")]
    [InlineData(8 * 1024 * 1024, 65_534, "StreamReceiveWindowBytes")]
    [InlineData(8 * 1024 * 1024, (16 * 1024 * 1024) + 1, "StreamReceiveWindowBytes")]
    public void The_options_refuse_an_upload_budget_or_window_out_of_range(int budget, int window, string named)
    {
        var options = new CoordinatorOptions { InsecureDev = true };
        options.Limits.MaxBufferedUploadBytes = budget;
        options.Limits.StreamReceiveWindowBytes = window;
        var refused = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Contains(named, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_round_whose_masked_inputs_wait_for_admission_completes_for_every_client()
    {
        // 4 masked inputs of 2^17 words (512 KiB, one SubmitPhase each) against a 1 MiB budget: at most two are read at
        // once, the others wait (HTTP/2 flow control holds their bodies in the clients), and nobody fails for it.
        const int n = 4;
        await using var federation = new Federation(clients: n);
        CoordinatorOptions options = federation.Options(r =>
        {
            r.CohortSize = n;
            r.MinClients = n;
            r.PhaseSeconds = 30;
            r.Dimension = 100_000;
        });
        options.Limits.MaxBufferedUploadBytes = 1024 * 1024;
        await using CoordinatorHost host = await CoordinatorHost.StartAsync(options);
        var clients = Enumerable.Range(0, n).Select(i => federation.Client(i, host.Address)).ToList();
        try
        {
            await Task.WhenAll(clients.Select(c => c.EnrolAsync()));
            ClientRoundResult[] results = await Task.WhenAll(clients.Select(c => c.RunRoundAsync(_ => new double[100_000])));
            Assert.All(results, r => Assert.Equal(RoundOutcomeKind.Completed, r.Kind));
            (long admitted, _) = host.Uploads.Counts;
            Assert.Equal(n, admitted);
            Assert.InRange(host.Uploads.PeakInUseBytes, 512 * 1024, 1024 * 1024);
            Assert.Equal(0, host.Uploads.InUseBytes);
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public async Task A_response_gate_lets_one_client_hold_several_leases()
    {
        var gate = new UploadAdmission(1000, onePerClient: false);
        using UploadAdmission.Lease first = await gate.AcquireAsync("a", 400, CancellationToken.None);
        using UploadAdmission.Lease second = await gate.AcquireAsync("a", 400, CancellationToken.None);
        ValueTask<UploadAdmission.Lease> third = gate.AcquireAsync("a", 400, CancellationToken.None);
        Assert.False(third.IsCompleted);
        first.Dispose();
        using UploadAdmission.Lease lease = await third.AsTask().WaitAsync(s_soon);
        Assert.Equal(800, gate.InUseBytes);
    }

    [Fact]
    public void The_options_refuse_a_response_budget_below_one_mebibyte()
    {
        var options = new CoordinatorOptions { InsecureDev = true };
        options.Limits.MaxBufferedResponseBytes = 1_048_575;
        var refused = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Contains("MaxBufferedResponseBytes", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_round_whose_model_downloads_wait_for_response_admission_completes_for_every_client()
    {
        // The model of d = 200,000 (8 bytes a weight, 1.6 MB) against a 1 MiB response budget: one download is written at
        // a time (a response larger than the budget goes alone), the others wait, and nobody fails for it.
        const int n = 4;
        const int d = 200_000;
        await using var federation = new Federation(clients: n);
        CoordinatorOptions options = federation.Options(r =>
        {
            r.CohortSize = n;
            r.MinClients = n;
            r.PhaseSeconds = 30;
            r.Dimension = d;
        });
        options.MaxMessageBytes = 4 * 1024 * 1024;
        options.Limits.MaxBufferedResponseBytes = 1024 * 1024;
        await using CoordinatorHost host = await CoordinatorHost.StartAsync(options);
        var clients = Enumerable.Range(0, n).Select(i => federation.Client(i, host.Address)).ToList();
        try
        {
            await Task.WhenAll(clients.Select(c => c.EnrolAsync()));
            await Task.WhenAll(clients.Select(c => c.GetModelAsync(0)));
            ClientRoundResult[] results = await Task.WhenAll(clients.Select(c => c.RunRoundAsync(_ => new double[d])));
            Assert.All(results, r => Assert.Equal(RoundOutcomeKind.Completed, r.Kind));
            UploadAdmission gate = host.Responses.Gate;
            Assert.True(gate.Counts.Admitted >= n, $"{gate.Counts.Admitted} large responses admitted");
            Assert.InRange(gate.PeakInUseBytes, 64 * 1024, 2 * 1024 * 1024);
            Assert.Equal(0, gate.InUseBytes);
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public async Task An_unchanged_roster_is_answered_not_modified_and_anything_else_gets_the_file()
    {
        await using var federation = new Federation(clients: 2);
        await using CoordinatorHost host = await CoordinatorHost.StartAsync(federation.Options());
        using var channel = new Wire.Client.CoordinatorChannel(host.Address, new Wire.Client.CoordinatorChannelOptions { Pin = Wire.Client.CertificatePin.ForCertificate(federation.PublicCertificate) });
        GetRosterResponse full = await channel.Membership.GetRosterAsync(new GetRosterRequest());
        Assert.False(full.NotModified);
        Assert.NotEmpty(full.Roster.ToByteArray());

        GetRosterResponse same = await channel.Membership.GetRosterAsync(new GetRosterRequest { KnownDigest = full.Digest });
        Assert.True(same.NotModified);
        Assert.True(same.Roster.IsEmpty);
        Assert.Equal((full.Version, full.Digest), (same.Version, same.Digest));

        foreach (string other in new[] { new string('0', 64), full.Digest.ToUpperInvariant(), "not a digest" })
        {
            GetRosterResponse sent = await channel.Membership.GetRosterAsync(new GetRosterRequest { KnownDigest = other });
            Assert.False(sent.NotModified);
            Assert.Equal(full.Roster, sent.Roster);
        }

        // The SDK names the roster it holds and verifies its own copy again: a second check (and a round's) works.
        using FederationClient client = federation.Client(0, host.Address);
        Assert.Equal(full.Digest, (await client.GetRosterAsync()).Digest);
        Assert.Equal(full.Digest, (await client.GetRosterAsync()).Digest);
    }
}
