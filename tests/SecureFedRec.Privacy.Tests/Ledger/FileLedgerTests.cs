using System.Text;
using SecureFedRec.Privacy.Ledger;

namespace SecureFedRec.Privacy.Tests.Ledger;

public sealed class FileLedgerTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sfr-ledger-" + Guid.NewGuid().ToString("N"));

    public FileLedgerTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathFor(string name) => Path.Combine(_dir, name);

    private static MechanismParameters P(ulong sigmaSq = 400) => TestData.Parameters(d: 64, gamma: 0.01, sigmaSqNum: sigmaSq, n: 10, t: 7);

    private static double RoundEps(ulong sigmaSq = 400, int rounds = 1) => SecureFedRec.Privacy.Accounting.DistributedDiscreteGaussianAccountant.RoundCurve(P(sigmaSq), 8).Compose(rounds).ToEpsilon(1e-5).Epsilon;

    [Fact]
    public void Charges_survive_a_restart()
    {
        var path = PathFor("a.jsonl");
        var budget = new PrivacyBudget(10 * RoundEps(), 1e-5);
        double total;
        using (var ledger = FilePrivacyLedger.Open(path, budget))
        {
            Assert.Equal(LedgerOutcome.Charged, ledger.Charge(new RoundCharge("r1", P(), 8)).Outcome);
            Assert.Equal(LedgerOutcome.Charged, ledger.Charge(new RoundCharge("r2", P(), 9)).Outcome);
            total = ledger.TotalEpsilon;
        }

        using var reopened = FilePrivacyLedger.Open(path, budget);
        Assert.Equal(2, reopened.Entries.Count);
        Assert.Equal(["r1", "r2"], reopened.Entries.Select(e => e.RoundId));
        Assert.Equal(9, reopened.Entries[1].ContributingClients);
        Assert.Equal(P(), reopened.Entries[0].Parameters);
        Assert.Equal(total, reopened.TotalEpsilon, 12);
        Assert.Equal(LedgerOutcome.AlreadyCharged, reopened.Charge(new RoundCharge("r1", P(), 8)).Outcome);
    }

    [Fact]
    public void Total_is_the_rdp_composition_not_the_sum_of_round_epsilons()
    {
        using var ledger = FilePrivacyLedger.Open(PathFor("c.jsonl"), new PrivacyBudget(100, 1e-5));
        for (var i = 0; i < 5; i++)
        {
            ledger.Charge(new RoundCharge($"r{i}", P(), 8));
        }

        var sumOfRounds = ledger.Entries.Sum(e => e.RoundEpsilon);
        Assert.True(ledger.TotalEpsilon < sumOfRounds);
        Assert.True(ledger.TotalEpsilon > ledger.Entries[0].RoundEpsilon);
    }

    [Fact]
    public void A_round_is_never_charged_twice()
    {
        using var ledger = FilePrivacyLedger.Open(PathFor("d.jsonl"), new PrivacyBudget(100, 1e-5));
        var first = ledger.Charge(new RoundCharge("r1", P(), 8));
        var second = ledger.Charge(new RoundCharge("r1", P(), 8));
        Assert.Equal(LedgerOutcome.AlreadyCharged, second.Outcome);
        Assert.True(second.MayRelease);
        Assert.Equal(first.TotalAfter, ledger.TotalEpsilon, 12);
        Assert.Single(ledger.Entries);
    }

    [Theory]
    [InlineData(400UL, 9)]
    [InlineData(900UL, 8)]
    public void The_same_round_id_with_other_figures_is_a_conflict(ulong sigmaSq, int contributing)
    {
        using var ledger = FilePrivacyLedger.Open(PathFor("e.jsonl"), new PrivacyBudget(100, 1e-5));
        ledger.Charge(new RoundCharge("r1", P(), 8));
        var d = ledger.Charge(new RoundCharge("r1", P(sigmaSq), contributing));
        Assert.Equal(LedgerOutcome.ConflictingRecord, d.Outcome);
        Assert.False(d.MayRelease);
    }

    [Fact]
    public void Coordinator_refuses_a_round_beyond_its_budget_and_records_nothing()
    {
        var path = PathFor("f.jsonl");
        using var ledger = FilePrivacyLedger.Open(path, new PrivacyBudget((RoundEps() + RoundEps(rounds: 2)) / 2, 1e-5));
        Assert.Equal(LedgerOutcome.Charged, ledger.Charge(new RoundCharge("r1", P(), 8)).Outcome);
        var length = new FileInfo(path).Length;
        var refused = ledger.Charge(new RoundCharge("r2", P(), 8));
        Assert.Equal(LedgerOutcome.BudgetExceeded, refused.Outcome);
        Assert.False(refused.MayRelease);
        Assert.Single(ledger.Entries);
        Assert.Equal(length, new FileInfo(path).Length);
    }

    [Theory]
    [InlineData(6)]
    [InlineData(11)]
    public void A_client_count_outside_t_to_n_is_refused(int contributing)
    {
        using var ledger = FilePrivacyLedger.Open(PathFor("g.jsonl"), new PrivacyBudget(100, 1e-5));
        Assert.Equal(LedgerOutcome.TooFewContributors, ledger.Charge(new RoundCharge("r1", P(), contributing)).Outcome);
    }

    [Theory]
    [InlineData("")]
    [InlineData("round 1")]
    [InlineData("rund\u00e9")]
    public void Invalid_round_ids_are_refused(string id)
    {
        using var ledger = FilePrivacyLedger.Open(PathFor("h.jsonl"), new PrivacyBudget(100, 1e-5));
        Assert.Equal(LedgerOutcome.InvalidRoundId, ledger.Charge(new RoundCharge(id, P(), 8)).Outcome);
    }

    private string LedgerWithThreeRounds()
    {
        var path = PathFor("t.jsonl");
        using var ledger = FilePrivacyLedger.Open(path, new PrivacyBudget(100, 1e-5));
        ledger.Charge(new RoundCharge("r1", P(), 8));
        ledger.Charge(new RoundCharge("r2", P(), 8));
        ledger.Charge(new RoundCharge("r3", P(), 8));
        return path;
    }

    [Fact]
    public void A_truncated_last_record_is_reported_with_file_and_line()
    {
        var path = LedgerWithThreeRounds();
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^20]);
        var ex = Assert.Throws<LedgerCorruptException>(() => FilePrivacyLedger.Open(path, new PrivacyBudget(100, 1e-5)));
        Assert.Equal(4, ex.Line);
        Assert.Equal(Path.GetFullPath(path), ex.FilePath);
        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_edited_record_breaks_the_hash_chain()
    {
        var path = LedgerWithThreeRounds();
        var lines = File.ReadAllLines(path);
        lines[2] = lines[2].Replace("\"contributingClients\":8", "\"contributingClients\":9", StringComparison.Ordinal);
        File.WriteAllText(path, string.Join('\n', lines) + "\n");
        var ex = Assert.Throws<LedgerCorruptException>(() => FilePrivacyLedger.Open(path, new PrivacyBudget(100, 1e-5)));
        Assert.Equal(3, ex.Line);
    }

    [Fact]
    public void A_removed_record_breaks_the_hash_chain()
    {
        var path = LedgerWithThreeRounds();
        var lines = File.ReadAllLines(path).ToList();
        lines.RemoveAt(2);
        File.WriteAllText(path, string.Join('\n', lines) + "\n");
        var ex = Assert.Throws<LedgerCorruptException>(() => FilePrivacyLedger.Open(path, new PrivacyBudget(100, 1e-5)));
        Assert.Equal(3, ex.Line);
    }

    [Fact]
    public void A_ledger_opened_with_another_delta_is_refused()
    {
        var path = LedgerWithThreeRounds();
        var ex = Assert.Throws<LedgerCorruptException>(() => FilePrivacyLedger.Open(path, new PrivacyBudget(100, 1e-6)));
        Assert.Equal(1, ex.Line);
    }

    [Fact]
    public void A_non_ledger_file_is_refused()
    {
        var path = PathFor("x.jsonl");
        File.WriteAllText(path, "hello\n", Encoding.UTF8);
        Assert.Throws<LedgerCorruptException>(() => FilePrivacyLedger.Open(path, new PrivacyBudget(100, 1e-5)));
    }

    [Fact]
    public void Only_one_writer_holds_a_ledger()
    {
        var path = PathFor("w.jsonl");
        using var first = FilePrivacyLedger.Open(path, new PrivacyBudget(100, 1e-5));
        Assert.ThrowsAny<IOException>(() => FilePrivacyLedger.Open(path, new PrivacyBudget(100, 1e-5)));
    }

    [Theory]
    [InlineData(0.0, 1e-5)]
    [InlineData(1.0, 0.0)]
    [InlineData(1.0, 1.0)]
    public void Invalid_budgets_are_refused(double eps, double delta)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => FilePrivacyLedger.Open(PathFor("b.jsonl"), new PrivacyBudget(eps, delta)));
    }
}
