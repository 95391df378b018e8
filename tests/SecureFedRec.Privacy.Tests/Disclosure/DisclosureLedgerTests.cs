using SecureFedRec.Privacy.Accounting;
using SecureFedRec.Privacy.Ledger;
using static SecureFedRec.Privacy.Tests.Disclosure.DisclosureTestSupport;

namespace SecureFedRec.Privacy.Tests.Disclosure;

/// <summary>The client ledger's pending → disclosed | released records (dp.md §7.4): durability, crash points, tampering, refusals.</summary>
public sealed class DisclosureLedgerTests : IDisposable
{
    private static readonly PrivacyBudget Roomy = new(100, 1e-5);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sfr-disclosure-" + Guid.NewGuid().ToString("N"));
    private readonly ManualClock _clock = new(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));

    public DisclosureLedgerTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string NewPath() => Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".jsonl");

    private FilePrivacyLedger Open(string path, PrivacyBudget? budget = null) => FilePrivacyLedger.Open(path, budget ?? Roomy, _clock);

    private static RoundCharge C(string id, double q = 1.0) => new(id, Plan(q), 7);

    [Fact]
    public void A_reservation_is_durable_and_counts_as_charged_before_anything_is_sent()
    {
        var path = NewPath();
        using var ledger = Open(path);
        var d = ledger.Reserve(C("r1"));
        Assert.Equal(LedgerOutcome.Reserved, d.Outcome);
        Assert.Equal(Eps(Plan()), d.RoundEpsilon, 9);
        Assert.Equal(d.TotalAfter, ledger.TotalEpsilon, 12);
        Assert.Single(ledger.Entries);
        Assert.Equal(ReservationState.Pending, Assert.Single(ledger.Reservations).State);

        // The pending line is on disk (fsynced) when Reserve returns.
        ledger.Dispose();
        var last = File.ReadAllLines(path)[^1];
        Assert.Contains("\"kind\":\"pending\"", last, StringComparison.Ordinal);
    }

    [Fact]
    public void The_ledger_charges_at_q_equal_one_whatever_rate_is_announced_and_records_the_amplified_figure_apart()
    {
        var path = NewPath();
        using (var ledger = Open(path))
        {
            var d = ledger.Reserve(C("r1", q: 1e-4));
            Assert.Equal(LedgerOutcome.Reserved, d.Outcome);
            Assert.Equal(Eps(Plan(q: 1.0)), d.RoundEpsilon, 9);
            var r = Assert.Single(ledger.Reservations);
            Assert.Equal(1.0, r.Parameters.SamplingRate);
            Assert.Equal(1e-4, r.AnnouncedSamplingRate);
            Assert.Equal(Eps(Plan(q: 1e-4)), r.AmplifiedRoundEpsilon, 9);
            Assert.True(r.AmplifiedRoundEpsilon < r.RoundEpsilon / 4, $"amplified {r.AmplifiedRoundEpsilon} vs {r.RoundEpsilon}");
        }

        var line = File.ReadAllLines(path)[^1];
        Assert.Contains("\"samplingRate\":1,", line, StringComparison.Ordinal);
        Assert.Contains("\"announcedSamplingRate\":0.0001,", line, StringComparison.Ordinal);
        using var reopened = Open(path);
        Assert.Equal(1e-4, Assert.Single(reopened.Reservations).AnnouncedSamplingRate);
    }

    [Fact]
    public void Budget_checks_include_pending_reservations_and_a_release_refunds()
    {
        var budget = new PrivacyBudget((Eps(Plan(), 2) + Eps(Plan(), 3)) / 2, 1e-5);
        using var ledger = Open(NewPath(), budget);
        Assert.Equal(LedgerOutcome.Reserved, ledger.Reserve(C("r1")).Outcome);
        Assert.Equal(LedgerOutcome.Reserved, ledger.Reserve(C("r2")).Outcome);
        Assert.Equal(LedgerOutcome.BudgetExceeded, ledger.PreviewReservation(C("r3")).Outcome);
        Assert.Equal(LedgerOutcome.BudgetExceeded, ledger.Reserve(C("r3")).Outcome);
        Assert.Equal(LedgerOutcome.BudgetExceeded, ledger.Preview(C("r3")).Outcome);

        var released = ledger.Release("r1", keysAdvertised: true, "coordinator aborted in ShareKeys");
        Assert.Equal(LedgerOutcome.Released, released.Outcome);
        Assert.Equal(Eps(Plan()), ledger.TotalEpsilon, 9);
        Assert.Equal(LedgerOutcome.Reserved, ledger.Reserve(C("r3")).Outcome);
        Assert.Equal(["r2", "r3"], ledger.Entries.Select(e => e.RoundId));
    }

    public static TheoryData<string> CrashPoints => new() { "after-pending", "after-disclosed", "after-released", "after-aborted" };

    /// <summary>A process killed between writes: the file holds a prefix of the records; reopening never under-charges.</summary>
    [Theory]
    [MemberData(nameof(CrashPoints))]
    public void A_crash_between_writes_never_under_charges(string point)
    {
        var path = NewPath();
        var ledger = Open(path);
        ledger.Reserve(C("r1"));
        var charged = ledger.TotalEpsilon;
        switch (point)
        {
            case "after-disclosed":
                ledger.MarkDisclosed("r1");
                break;
            case "after-released":
                ledger.Release("r1", keysAdvertised: true, "aborted before masked input");
                break;
            case "after-aborted":
                ledger.MarkDisclosed("r1");
                ledger.Release("r1", keysAdvertised: true, "aborted after masked input");
                break;
        }

        ledger.Dispose(); // the process dies here: no further write.
        using var reopened = Open(path);
        var r = Assert.Single(reopened.Reservations);
        switch (point)
        {
            case "after-pending":
                Assert.Equal(ReservationState.Recovered, r.State);
                Assert.Equal("r1", Assert.Single(reopened.RecoveredReservations).RoundId);
                Assert.Equal(charged, reopened.TotalEpsilon, 12);
                break;
            case "after-disclosed":
                Assert.Equal(ReservationState.Disclosed, r.State);
                Assert.Empty(reopened.RecoveredReservations);
                Assert.Equal(charged, reopened.TotalEpsilon, 12);
                break;
            case "after-released":
                Assert.Equal(ReservationState.Released, r.State);
                Assert.Equal(0, reopened.TotalEpsilon);
                break;
            case "after-aborted":
                Assert.Equal(ReservationState.AbortedAfterDisclosure, r.State);
                Assert.Equal(charged, reopened.TotalEpsilon, 12);
                break;
        }
    }

    [Fact]
    public void A_reservation_recovered_after_a_crash_cannot_be_released_but_may_be_marked_disclosed()
    {
        var path = NewPath();
        using (var ledger = Open(path))
        {
            ledger.Reserve(C("r1"));
            ledger.Reserve(C("r2"));
        }

        using var reopened = Open(path);
        var total = reopened.TotalEpsilon;
        Assert.Equal(2, reopened.RecoveredReservations.Count);
        Assert.Equal(LedgerOutcome.RecoveredReservation, reopened.Release("r1", keysAdvertised: false, "client restarted").Outcome);
        Assert.Equal(total, reopened.TotalEpsilon, 12);
        Assert.Equal(LedgerOutcome.Disclosed, reopened.MarkDisclosed("r2").Outcome);
        Assert.Equal("r1", Assert.Single(reopened.RecoveredReservations).RoundId);
        Assert.Equal(total, reopened.TotalEpsilon, 12);
    }

    public static TheoryData<string> TornRecords => new() { "pending", "disclosed", "released" };

    /// <summary>A write torn by a crash (no final newline) is reported, naming the line; nothing is guessed.</summary>
    [Theory]
    [MemberData(nameof(TornRecords))]
    public void A_torn_last_record_is_reported_not_repaired(string kind)
    {
        var path = NewPath();
        using (var ledger = Open(path))
        {
            ledger.Reserve(C("r1"));
            if (kind == "disclosed")
            {
                ledger.MarkDisclosed("r1");
            }
            else if (kind == "released")
            {
                ledger.Release("r1", keysAdvertised: false, "declined");
            }
        }

        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^9]);
        var lines = File.ReadAllText(path).Count(c => c == '\n') + 1;
        var ex = Assert.Throws<LedgerCorruptException>(() => Open(path));
        Assert.Equal(lines, ex.Line);
        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, int> Tampering => new()
    {
        { "lower-pending-epsilon", 2 },
        { "announced-rate-into-accounted-rate", 2 },
        { "released-turned-into-nothing", 3 },
    };

    /// <summary>Any edit of a pending or resolution record breaks the hash chain at that line.</summary>
    [Theory]
    [MemberData(nameof(Tampering))]
    public void An_edited_disclosure_record_breaks_the_hash_chain(string edit, int line)
    {
        var path = NewPath();
        using (var ledger = Open(path))
        {
            ledger.Reserve(C("r1", q: 1e-4));
            ledger.Release("r1", keysAdvertised: true, "aborted");
            ledger.Reserve(C("r2"));
        }

        var lines = File.ReadAllLines(path);
        lines[line - 1] = edit switch
        {
            "lower-pending-epsilon" => lines[1].Replace("\"roundEpsilon\":", "\"roundEpsilon\":0.0", StringComparison.Ordinal),
            "announced-rate-into-accounted-rate" => lines[1].Replace("\"samplingRate\":1,", "\"samplingRate\":0.0001,", StringComparison.Ordinal),
            _ => lines[2].Replace("\"kind\":\"released\"", "\"kind\":\"disclosed\"", StringComparison.Ordinal),
        };
        File.WriteAllText(path, string.Join('\n', lines) + "\n");
        var ex = Assert.Throws<LedgerCorruptException>(() => Open(path));
        Assert.Equal(line, ex.Line);
        Assert.Contains("hash chain", ex.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string> ResealedForgeries => new()
    {
        "pending-accounted-below-certainty",
        "pending-epsilon-understated",
        "second-release-of-one-reservation",
        "release-naming-another-pending-record",
        "release-after-disclosure",
        "resolution-without-pending",
        "total-understated-after-release",
    };

    /// <summary>
    /// Behind a valid chain (re-sealed), the figures and the state machine are still checked: every record must
    /// follow from the ones before it.
    /// </summary>
    [Theory]
    [MemberData(nameof(ResealedForgeries))]
    public void A_resealed_forgery_is_refused_by_the_recomputation(string forgery)
    {
        var path = NewPath();
        using (var ledger = Open(path))
        {
            ledger.Reserve(C("r1", q: 0.01));
            ledger.Release("r1", keysAdvertised: true, "aborted");
            ledger.Reserve(C("r2"));
            ledger.MarkDisclosed("r2");
        }

        // Lines: 1 header, 2 pending r1, 3 released r1, 4 pending r2, 5 disclosed r2.
        var bad = 0;
        RewriteAndReseal(path, lines =>
        {
            switch (forgery)
            {
                case "pending-accounted-below-certainty":
                    lines[1] = lines[1].Replace("\"samplingRate\":1,", "\"samplingRate\":0.01,", StringComparison.Ordinal);
                    bad = 2;
                    break;
                case "pending-epsilon-understated":
                    lines[3] = System.Text.RegularExpressions.Regex.Replace(lines[3], "\"roundEpsilon\":[0-9.eE+-]+", "\"roundEpsilon\":0.01");
                    bad = 4;
                    break;
                case "second-release-of-one-reservation":
                    lines.Insert(3, lines[2].Replace("\"seq\":2", "\"seq\":3", StringComparison.Ordinal));
                    bad = 4;
                    break;
                case "release-naming-another-pending-record":
                    lines[2] = lines[2].Replace("\"pendingSeq\":1", "\"pendingSeq\":7", StringComparison.Ordinal);
                    bad = 3;
                    break;
                case "release-after-disclosure":
                    // A refund of r2 after its disclosure (only an "aborted" record may follow a disclosure).
                    lines.Add(lines[2].Replace("\"seq\":2", "\"seq\":5", StringComparison.Ordinal)
                        .Replace("\"round\":\"r1\"", "\"round\":\"r2\"", StringComparison.Ordinal)
                        .Replace("\"pendingSeq\":1", "\"pendingSeq\":3", StringComparison.Ordinal));
                    bad = 6;
                    break;
                case "resolution-without-pending":
                    lines.RemoveAt(1);
                    lines[1] = lines[1].Replace("\"seq\":2", "\"seq\":1", StringComparison.Ordinal);
                    bad = 2;
                    break;
                case "total-understated-after-release":
                    lines[2] = System.Text.RegularExpressions.Regex.Replace(lines[2], "\"totalEpsilon\":[0-9.eE+-]+", "\"totalEpsilon\":-1");
                    bad = 3;
                    break;
            }

            return lines;
        });
        var ex = Assert.Throws<LedgerCorruptException>(() => Open(path));
        Assert.Equal(bad, ex.Line);
    }

    public static TheoryData<string, LedgerOutcome> DoubleResolutions => new()
    {
        { "disclose-twice", LedgerOutcome.AlreadyResolved },
        { "release-twice", LedgerOutcome.AlreadyResolved },
        { "disclose-after-release", LedgerOutcome.AlreadyResolved },
        { "release-after-abort-recorded", LedgerOutcome.AlreadyResolved },
        { "disclose-unknown", LedgerOutcome.NotReserved },
        { "release-unknown", LedgerOutcome.NotReserved },
        { "release-a-legacy-charge", LedgerOutcome.NotReserved },
        { "reserve-twice", LedgerOutcome.RoundAlreadyRecorded },
        { "reserve-after-release", LedgerOutcome.RoundAlreadyRecorded },
        { "reserve-a-charged-round", LedgerOutcome.RoundAlreadyRecorded },
        { "charge-a-reserved-round", LedgerOutcome.ConflictingRecord },
        { "reserve-fewer-than-t", LedgerOutcome.TooFewContributors },
        { "reserve-bad-id", LedgerOutcome.InvalidRoundId },
        { "disclose-bad-id", LedgerOutcome.InvalidRoundId },
    };

    [Theory]
    [MemberData(nameof(DoubleResolutions))]
    public void Double_and_unknown_resolutions_are_refused_and_write_nothing(string scenario, LedgerOutcome expected)
    {
        var path = NewPath();
        using var ledger = Open(path);
        ledger.Reserve(C("r1"));
        ledger.Charge(new RoundCharge("legacy", Plan(), 7));
        switch (scenario)
        {
            case "disclose-twice" or "release-after-abort-recorded":
                ledger.MarkDisclosed("r1");
                if (scenario == "release-after-abort-recorded")
                {
                    Assert.Equal(LedgerOutcome.AbortRecorded, ledger.Release("r1", keysAdvertised: true, "aborted").Outcome);
                }

                break;
            case "release-twice" or "disclose-after-release" or "reserve-after-release":
                Assert.Equal(LedgerOutcome.Released, ledger.Release("r1", keysAdvertised: true, "aborted").Outcome);
                break;
        }

        var length = new FileInfo(path).Length;
        var total = ledger.TotalEpsilon;
        var d = scenario switch
        {
            "disclose-twice" or "disclose-after-release" => ledger.MarkDisclosed("r1"),
            "release-twice" or "release-after-abort-recorded" => ledger.Release("r1", keysAdvertised: true, "again"),
            "disclose-unknown" => ledger.MarkDisclosed("r9"),
            "release-unknown" => ledger.Release("r9", keysAdvertised: false, "x"),
            "release-a-legacy-charge" => ledger.Release("legacy", keysAdvertised: false, "x"),
            "reserve-twice" or "reserve-after-release" => ledger.Reserve(C("r1")),
            "reserve-a-charged-round" => ledger.Reserve(C("legacy")),
            "charge-a-reserved-round" => ledger.Charge(C("r1")),
            "reserve-fewer-than-t" => ledger.Reserve(new RoundCharge("r5", Plan(), 6)),
            "reserve-bad-id" => ledger.Reserve(C("round 1")),
            "disclose-bad-id" => ledger.MarkDisclosed(""),
            _ => throw new ArgumentOutOfRangeException(nameof(scenario)),
        };
        Assert.Equal(expected, d.Outcome);
        Assert.Equal(length, new FileInfo(path).Length);
        Assert.Equal(total, ledger.TotalEpsilon, 12);
    }

    [Theory]
    [InlineData("")]
    [InlineData("caf\u00e9")]
    [InlineData("line\nbreak")]
    public void An_abort_reason_outside_printable_ascii_is_misuse(string reason)
    {
        using var ledger = Open(NewPath());
        ledger.Reserve(C("r1"));
        Assert.Throws<ArgumentException>(() => ledger.Release("r1", keysAdvertised: false, reason));
        Assert.Equal(ReservationState.Pending, Assert.Single(ledger.Reservations).State);
    }

    [Fact]
    public void Aborts_after_key_advertisement_are_counted_in_a_window_on_the_ledger_clock()
    {
        var path = NewPath();
        using (var ledger = Open(path))
        {
            ledger.Reserve(C("a"));
            ledger.Release("a", keysAdvertised: false, "declined before sending"); // not counted
            ledger.Reserve(C("b"));
            ledger.Release("b", keysAdvertised: true, "aborted in ShareKeys");
            _clock.Advance(TimeSpan.FromHours(2));
            ledger.Reserve(C("c"));
            ledger.MarkDisclosed("c");
            ledger.Release("c", keysAdvertised: true, "aborted in Unmasking");
            Assert.Equal(2, ledger.CountAbortsSince(_clock.GetUtcNow() - TimeSpan.FromHours(3)));
            Assert.Equal(1, ledger.CountAbortsSince(_clock.GetUtcNow() - TimeSpan.FromHours(1)));
        }

        using var reopened = Open(path);
        Assert.Equal(2, reopened.CountAbortsSince(_clock.GetUtcNow() - TimeSpan.FromHours(3)));
        Assert.Equal(1, reopened.CountAbortsSince(_clock.GetUtcNow() - TimeSpan.FromHours(1)));
    }

    [Fact]
    public void A_version_1_ledger_is_read_and_continued_with_disclosure_records()
    {
        var path = NewPath();
        using (var ledger = Open(path))
        {
            ledger.Charge(new RoundCharge("old", Plan(), 8));
        }

        RewriteAndReseal(path, lines =>
        {
            lines[0] = lines[0].Replace("\"version\":2", "\"version\":1", StringComparison.Ordinal);
            return lines;
        });
        using (var v1 = Open(path))
        {
            Assert.Equal(LedgerOutcome.Reserved, v1.Reserve(C("new")).Outcome);
            Assert.Equal(LedgerOutcome.Disclosed, v1.MarkDisclosed("new").Outcome);
        }

        using var reopened = Open(path);
        Assert.Equal(["old", "new"], reopened.Entries.Select(e => e.RoundId));
        var expected = DistributedDiscreteGaussianAccountant.RoundCurve(Plan(), 8).Plus(DistributedDiscreteGaussianAccountant.RoundCurve(Plan(), 7)).ToEpsilon(1e-5).Epsilon;
        Assert.Equal(expected, reopened.TotalEpsilon, 9);
    }

    [Fact]
    public void New_ledgers_are_written_as_version_2()
    {
        var path = NewPath();
        using (Open(path))
        {
        }

        Assert.Contains("\"version\":2,", File.ReadAllLines(path)[0], StringComparison.Ordinal);
    }
}
