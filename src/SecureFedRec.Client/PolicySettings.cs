using System.ComponentModel.DataAnnotations;
using SecureFedRec.Configuration;

namespace SecureFedRec.Client;

/// <summary>
/// The institution's privacy policy as configured (section <c>Client:Policy</c>): every round is checked against it
/// and against the local ledger before anything is sent (<see cref="SecureFedRec.Privacy.Policy.ClientPrivacyPolicy"/>).
/// </summary>
/// <remarks>Plain settings object, bound and validated by <see cref="ClientSettings.Load(string)"/>; not thread-safe.</remarks>
public sealed class PolicySettings : ISettingsRules
{
    /// <summary>Largest total ε this institution spends over all rounds, measured at <see cref="Delta"/>; rounds that would exceed it are declined.</summary>
    [Range(0.0, double.PositiveInfinity, MinimumIsExclusive = true, MaximumIsExclusive = true)]
    public double MaxTotalEpsilon { get; set; } = 10;

    /// <summary>δ at which ε is measured; rounds announced with a larger δ are declined.</summary>
    [Range(0.0, 1.0, MinimumIsExclusive = true, MaximumIsExclusive = true)]
    public double Delta { get; set; } = 1e-5;

    /// <summary>Least central noise multiplier accepted (√t·σ·γ/c at the threshold).</summary>
    [Range(0.0, 1e6)]
    public double MinNoiseMultiplier { get; set; } = 0.5;

    /// <summary>Largest clip norm accepted.</summary>
    [Range(0.0, double.PositiveInfinity, MinimumIsExclusive = true, MaximumIsExclusive = true)]
    public double MaxClip { get; set; } = 10;

    /// <summary>Smallest accepted threshold fraction t/n.</summary>
    [Range(0.0, 1.0, MinimumIsExclusive = true)]
    public double MinThresholdFraction { get; set; } = 0.5;

    /// <summary>
    /// Explicit opt-in to honest-but-curious rounds (default false: only malicious-mode rounds, whose cohort is verified
    /// against the roster). Honest-but-curious rounds do not protect this institution's input against a coordinator that
    /// lies about dropouts or the cohort; each one taken part in is logged as a warning.
    /// </summary>
    public bool AllowHonestButCurious { get; set; }

    /// <summary>Smallest cohort n accepted.</summary>
    [Range(2, 1_000_000)]
    public int MinCohortSize { get; set; } = 3;

    /// <summary>Smallest secure-aggregation threshold t accepted.</summary>
    [Range(2, 1_000_000)]
    public int MinThreshold { get; set; } = 3;

    /// <summary>Fewest distinct organisations (from the verified roster) a cohort must span.</summary>
    [Range(1, 1_000_000)]
    public int MinDistinctOrganisations { get; set; } = 3;

    /// <summary>Most rounds aborted after this client advertised its keys within <see cref="AbortWindowHours"/>; then rounds are declined until the window slides.</summary>
    [Range(0, 1_000_000)]
    public int MaxAbortedRounds { get; set; } = 3;

    /// <summary>The sliding window of <see cref="MaxAbortedRounds"/>, hours.</summary>
    [Range(0.0, 8_760.0, MinimumIsExclusive = true)]
    public double AbortWindowHours { get; set; } = 24;

    /// <inheritdoc />
    public void CheckRules(string path, SettingsProblems problems)
    {
        // Every rule of this section is a per-value range; nothing relates two of its settings.
    }
}
