using SecureFedRec.Rounds.Server;

namespace SecureFedRec.Rounds.Tests;

/// <summary>
/// The early close after quiet (<see cref="RoundHostOptions.EarlyCloseIdle"/>): a phase may close before its deadline only
/// when it has been quiet long enough and no more members would be out of the round than the planned dropout ⌊δ·n⌋.
/// </summary>
public sealed class EarlyCloseTests
{
    [Theory]
    [InlineData(2.0, 1000, 100, 2.0, true)] // δn silent after ShareKeys, quiet for the idle time: close
    [InlineData(2.0, 1000, 100, 5.0, true)]
    [InlineData(2.0, 1000, 101, 60.0, false)] // one more than planned: wait for the deadline
    [InlineData(2.0, 1000, 0, 1.9, false)] // not quiet long enough
    [InlineData(2.0, 10, 1, 2.0, true)]
    [InlineData(2.0, 10, 2, 2.0, false)]
    [InlineData(2.0, 9, 1, 2.0, false)] // ⌊0.1 × 9⌋ = 0: a small cohort never closes early with anyone missing
    [InlineData(0.0, 1000, 1, 600.0, false)] // zero: never
    public void A_phase_closes_early_only_when_quiet_and_within_the_planned_dropout(double idleSeconds, int cohort, int @out, double quietSeconds, bool expected)
    {
        var options = new RoundHostOptions
        {
            Settings = Harness.Settings() with { DropoutFraction = 0.1 },
            CohortSize = cohort,
            EarlyCloseIdle = TimeSpan.FromSeconds(idleSeconds),
        };
        Assert.Equal(expected, options.EarlyCloseDue(cohort, @out, TimeSpan.FromSeconds(quietSeconds)));
    }

    [Fact]
    public void The_early_close_is_off_unless_configured()
    {
        var options = new RoundHostOptions { Settings = Harness.Settings(), CohortSize = 10 };
        Assert.Equal(TimeSpan.Zero, options.EarlyCloseIdle);
        Assert.False(options.EarlyCloseDue(10, 0, TimeSpan.FromDays(1)));
    }
}
