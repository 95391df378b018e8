using SecureFedRec.Privacy;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Rounds;

/// <summary>
/// The public contract of one round, defined once: what the coordinator announces, what every client checks against
/// its policy and consents to, and what the secure-aggregation session binds (its canonical encoding is the
/// <c>binding</c> of the protocol's RoundParameters). Immutable.
/// </summary>
/// <param name="RoundId">Round id (the protocol's round number).</param>
/// <param name="ModelVersion">The model version the update is computed against.</param>
/// <param name="Mode">Threat mode of the secure aggregation.</param>
/// <param name="Dp">The DP mechanism's public parameters (clip, γ, σ², planned and minimum clients, δ).</param>
public sealed record RoundContract(ulong RoundId, ulong ModelVersion, ThreatMode Mode, MechanismParameters Dp);
