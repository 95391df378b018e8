using SecureFedRec.Privacy.Accounting;
using SecureFedRec.Privacy.Ledger;
using static SecureFedRec.Privacy.Tests.Disclosure.DisclosureTestSupport;

namespace SecureFedRec.Privacy.Tests.Disclosure;

/// <summary>
/// <c>protocol-spec/vectors/client-ledger-v2.jsonl</c>: a client ledger file with every disclosure record kind (dp.md
/// §7.4), for other implementations to replay. Regenerate with <c>SFR_WRITE_VECTORS=1</c> (then review the diff).
/// Script: header at 2026-12-01T12:00:00Z; r1 reserved at announced q = 0.01, released after key advertisement
/// ("aborted in ShareKeys") a minute later; r2 reserved, disclosed; r3 reserved and left pending (a crash).
/// </summary>
public sealed class LedgerVectorTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sfr-vector-" + Guid.NewGuid().ToString("N"));

    public LedgerVectorTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>
    /// The published vector, found by walking up from the test assembly's folder (not [CallerFilePath]: CI builds are
    /// deterministic, which maps source paths to /_/).
    /// </summary>
    private static string VectorPath()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !Directory.Exists(Path.Combine(dir.FullName, "protocol-spec")))
        {
            dir = dir.Parent;
        }

        return Path.Combine(dir?.FullName ?? throw new DirectoryNotFoundException("protocol-spec/ not found above the test assembly."), "protocol-spec", "vectors", "client-ledger-v2.jsonl");
    }

    private static void Script(string path)
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
        using var ledger = FilePrivacyLedger.Open(path, new PrivacyBudget(100, 1e-5), clock);
        clock.Advance(TimeSpan.FromMinutes(1));
        ledger.Reserve(new RoundCharge("round-1", Plan(q: 0.01), 7));
        clock.Advance(TimeSpan.FromMinutes(1));
        ledger.Release("round-1", keysAdvertised: true, "aborted in ShareKeys");
        clock.Advance(TimeSpan.FromMinutes(1));
        ledger.Reserve(new RoundCharge("round-2", Plan(), 7));
        clock.Advance(TimeSpan.FromMinutes(1));
        ledger.MarkDisclosed("round-2");
        clock.Advance(TimeSpan.FromMinutes(1));
        ledger.Reserve(new RoundCharge("round-3", Plan(), 8));
    }

    [Fact]
    public void The_script_reproduces_the_vector_byte_for_byte()
    {
        var path = Path.Combine(_dir, "v.jsonl");
        Script(path);
        if (Environment.GetEnvironmentVariable("SFR_WRITE_VECTORS") == "1")
        {
            File.Copy(path, VectorPath(), overwrite: true);
        }

        Assert.Equal(File.ReadAllText(VectorPath()), File.ReadAllText(path));
    }

    /// <summary>
    /// A crash after any write leaves a prefix of the file's lines (each record is one fsynced write): every prefix
    /// opens, and a reservation without its resolution in the prefix is counted (recovered), never dropped.
    /// </summary>
    [Theory]
    [InlineData(1, new string[0], new string[0])]
    [InlineData(2, new[] { "round-1" }, new[] { "round-1" })]
    [InlineData(3, new string[0], new string[0])]
    [InlineData(4, new[] { "round-2" }, new[] { "round-2" })]
    [InlineData(5, new[] { "round-2" }, new string[0])]
    [InlineData(6, new[] { "round-2", "round-3" }, new[] { "round-3" })]
    public void Every_prefix_left_by_a_crash_opens_and_counts_every_unreleased_reservation(int lines, string[] counted, string[] recovered)
    {
        var prefix = Path.Combine(_dir, $"prefix{lines}.jsonl");
        File.WriteAllLines(prefix, File.ReadAllLines(VectorPath()).Take(lines));
        using var ledger = FilePrivacyLedger.Open(prefix, new PrivacyBudget(100, 1e-5));
        Assert.Equal(counted, ledger.Entries.Select(e => e.RoundId));
        Assert.Equal(recovered, ledger.RecoveredReservations.Select(r => r.RoundId));
        var expected = ledger.Entries.Select(e => DistributedDiscreteGaussianAccountant.RoundCurve(e.Parameters, e.ContributingClients))
            .Aggregate((RdpCurve?)null, (acc, c) => acc is null ? c : acc.Plus(c));
        Assert.Equal(expected is null ? 0 : expected.ToEpsilon(1e-5).Epsilon, ledger.TotalEpsilon, 9);
    }

    [Fact]
    public void The_vector_replays_to_the_documented_states_and_total()
    {
        var copy = Path.Combine(_dir, "copy.jsonl");
        File.Copy(VectorPath(), copy);
        using var ledger = FilePrivacyLedger.Open(copy, new PrivacyBudget(100, 1e-5));
        Assert.Equal(
            [("round-1", ReservationState.Released), ("round-2", ReservationState.Disclosed), ("round-3", ReservationState.Recovered)],
            ledger.Reservations.Select(r => (r.RoundId, r.State)));
        Assert.Equal("round-3", Assert.Single(ledger.RecoveredReservations).RoundId);
        Assert.Equal(0.01, ledger.Reservations[0].AnnouncedSamplingRate);
        var expected = DistributedDiscreteGaussianAccountant.RoundCurve(Plan(), 7).Plus(DistributedDiscreteGaussianAccountant.RoundCurve(Plan(), 8)).ToEpsilon(1e-5).Epsilon;
        Assert.Equal(expected, ledger.TotalEpsilon, 9);
        Assert.Equal(1, ledger.CountAbortsSince(DateTimeOffset.MinValue));
    }
}
