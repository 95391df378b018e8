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

    /// <inheritdoc />
    public void CheckRules(string path, SettingsProblems problems)
    {
        // Every rule of this section is a per-value range; nothing relates two of its settings.
    }
}
