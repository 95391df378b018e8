using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using SecureFedRec.Privacy;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Rounds;

/// <summary>Whose contribution one unit of the DP guarantee protects.</summary>
public enum PrivacyUnit
{
    /// <summary>Not set (invalid in a contract).</summary>
    Unspecified = 0,

    /// <summary>Per institution (client): the client's whole update is clipped to <see cref="MechanismParameters.Clip"/>.</summary>
    Institution = 1,

    /// <summary>
    /// Per user: each user's update is clipped to <see cref="RoundContract.UserClip"/> inside the client, the client's
    /// sum of at most <see cref="RoundContract.MaxUsersPerClient"/> users is clipped to m·C (a projection, so one user
    /// still moves it by at most C), and the round is calibrated and charged at sensitivity C.
    /// </summary>
    User = 2,
}

/// <summary>How a client's update is encoded into Z_{2^b} before secure aggregation.</summary>
public enum UpdateEncoding
{
    /// <summary>Not set (invalid in a contract).</summary>
    Unspecified = 0,

    /// <summary>Distributed discrete Gaussian (KLS 2021): clip, rotate, scale, round, noise. Private.</summary>
    DistributedDiscreteGaussian = 1,

    /// <summary>
    /// Fixed point without noise: NOT PRIVATE (the released sum is exact up to rounding). Only for the secagg-only
    /// comparison row of the simulation; nothing is charged. Coordinate j is clamped to ±B_j and scaled by
    /// ⌊(2^(b−1) − 1)/(n·B_j)⌋.
    /// </summary>
    FixedPointNoDp = 2,
}

/// <summary>
/// The public contract of one round, defined once: what the coordinator announces, what every client checks against
/// its policy and consents to, and what the secure-aggregation session binds (its canonical encoding is the
/// <c>binding</c> of the protocol's RoundParameters). Immutable.
/// </summary>
/// <remarks>
/// <para>Canonical encoding (<see cref="CanonicalEncoding"/>, protocol-spec/secagg.md §"Round binding"): the label
/// "SecureFedRec/v1\0round-contract\0" followed by fixed-width big-endian fields in this order: u64 round id, u64 model
/// version, u32 threat mode, u32 privacy unit, u32 encoding, u32 d, u32 b, f64 clip, f64 γ, f64 β, u64 σ² numerator,
/// u64 σ² denominator, u32 planned clients, u32 minimum clients, f64 δ, f64 sampling rate, f64 k, f64 claimed ε,
/// f64 user clip, u32 max users per client, u32 count of fixed-point bounds, then each bound as f64, then u32 count of
/// cohort entries and for each entry (in client-number order) u32 client number, u32 byte length ‖ UTF-8 organisation,
/// u32 byte length ‖ UTF-8 roster client id. f64 is the IEEE 754 binary64 bit pattern, big endian. The binding is
/// SHA-256 of that encoding (32 bytes). No protobuf serialization is involved, so the bytes are stable across library
/// versions. Because the cohort is bound, every honest client of a round sees the same cohort (or the round cannot
/// complete: the protocol's session id commits to the binding).</para>
/// <para>With <see cref="UpdateEncoding.FixedPointNoDp"/>, <see cref="Dp"/> only describes the shape (d, b, planned and
/// minimum clients); its σ², γ and δ are zero/placeholder and nothing is charged.</para>
/// </remarks>
/// <param name="RoundId">Round id (the protocol's round number).</param>
/// <param name="ModelVersion">The model version the update is computed against.</param>
/// <param name="Mode">Threat mode of the secure aggregation.</param>
/// <param name="Dp">The DP mechanism's public parameters (clip, γ, σ², planned and minimum clients, δ).</param>
public sealed record RoundContract(ulong RoundId, ulong ModelVersion, ThreatMode Mode, MechanismParameters Dp)
{
    private static ReadOnlySpan<byte> ContractLabel => "SecureFedRec/v1\0round-contract\0"u8;

    private static ReadOnlySpan<byte> RotationLabel => "SecureFedRec/v1\0rotation-seed\0"u8;

    /// <summary>The privacy unit (default per institution).</summary>
    public PrivacyUnit Privacy { get; init; } = PrivacyUnit.Institution;

    /// <summary>The update encoding (default the distributed discrete Gaussian).</summary>
    public UpdateEncoding Encoding { get; init; } = UpdateEncoding.DistributedDiscreteGaussian;

    /// <summary>ε of this round at the minimum number of clients, as the coordinator computed it (clients recompute it).</summary>
    public double ClaimedEpsilon { get; init; }

    /// <summary>Per-user clip C (<see cref="PrivacyUnit.User"/>); equals <see cref="MechanismParameters.Clip"/> per institution.</summary>
    public double UserClip { get; init; }

    /// <summary>Most users one client holds (<see cref="PrivacyUnit.User"/>; 1 per institution).</summary>
    public int MaxUsersPerClient { get; init; } = 1;

    /// <summary>Public per-coordinate bounds B_j of <see cref="UpdateEncoding.FixedPointNoDp"/> (empty otherwise).</summary>
    public IReadOnlyList<double> FixedPointBounds { get; init; } = [];

    /// <summary>
    /// The cohort, ordered by client number: who each protocol client number is in the roster. Required (one entry per
    /// protocol client id) in malicious mode; may be empty in honest-but-curious mode when the coordinator has no roster.
    /// </summary>
    public IReadOnlyList<CohortEntry> Cohort { get; init; } = [];

    /// <summary>Whether the round adds DP noise and is charged (false only for the not-private comparison encoding).</summary>
    public bool IsPrivate => Encoding == UpdateEncoding.DistributedDiscreteGaussian;

    /// <summary>Vector length the secure aggregation runs on (d padded to a power of two for the DP rotation).</summary>
    public int SecAggDimension => IsPrivate ? Dp.PaddedDimension : Dp.Dimension;

    /// <summary>The parameters the round is accounted (charged) with: sensitivity C per user, or the whole clip per institution.</summary>
    public MechanismParameters AccountingParameters =>
        Privacy == PrivacyUnit.User ? Dp with { Clip = UserClip, PlannedClients = Dp.PlannedClients } : Dp;

    /// <summary>The ledger round id: <c>round-{id}</c>.</summary>
    public string LedgerRoundId => "round-" + RoundId.ToString(CultureInfo.InvariantCulture);

    /// <summary>The canonical encoding (see the type's remarks).</summary>
    public byte[] CanonicalEncoding()
    {
        ArgumentNullException.ThrowIfNull(Dp);
        ArgumentNullException.ThrowIfNull(Cohort);
        byte[][] names = new byte[Cohort.Count * 2][];
        int cohortLength = 4;
        for (int i = 0; i < Cohort.Count; i++)
        {
            names[2 * i] = System.Text.Encoding.UTF8.GetBytes(Cohort[i].Organisation ?? string.Empty);
            names[(2 * i) + 1] = System.Text.Encoding.UTF8.GetBytes(Cohort[i].ClientId ?? string.Empty);
            cohortLength += 4 + 4 + names[2 * i].Length + 4 + names[(2 * i) + 1].Length;
        }

        int length = ContractLabel.Length + 8 + 8 + (4 * 5) + (8 * 3) + (8 * 2) + (4 * 2) + (8 * 5) + 4 + 4 + (8 * FixedPointBounds.Count) + cohortLength;
        byte[] bytes = new byte[length];
        var w = new Writer(bytes);
        w.Bytes(ContractLabel);
        w.U64(RoundId);
        w.U64(ModelVersion);
        w.U32((uint)Mode);
        w.U32((uint)Privacy);
        w.U32((uint)Encoding);
        w.U32((uint)Dp.Dimension);
        w.U32((uint)Dp.Bits);
        w.F64(Dp.Clip);
        w.F64(Dp.Gamma);
        w.F64(Dp.Beta);
        w.U64(Dp.SigmaSquaredNumerator);
        w.U64(Dp.SigmaSquaredDenominator);
        w.U32((uint)Dp.PlannedClients);
        w.U32((uint)Dp.MinClients);
        w.F64(Dp.Delta);
        w.F64(Dp.SamplingRate);
        w.F64(Dp.K);
        w.F64(ClaimedEpsilon);
        w.F64(UserClip);
        w.U32((uint)MaxUsersPerClient);
        w.U32((uint)FixedPointBounds.Count);
        foreach (double bound in FixedPointBounds)
        {
            w.F64(bound);
        }

        w.U32((uint)Cohort.Count);
        for (int i = 0; i < Cohort.Count; i++)
        {
            w.U32((uint)Cohort[i].ClientNumber);
            w.U32((uint)names[2 * i].Length);
            w.Bytes(names[2 * i]);
            w.U32((uint)names[(2 * i) + 1].Length);
            w.Bytes(names[(2 * i) + 1]);
        }

        return w.Position == length ? bytes : throw new InvalidOperationException("Canonical encoding length mismatch.");
    }

    /// <summary>The secure-aggregation binding: SHA-256 of <see cref="CanonicalEncoding"/> (32 bytes).</summary>
    public byte[] Binding() => SHA256.HashData(CanonicalEncoding());

    /// <summary>
    /// The public seed of the DP mechanism's randomized Hadamard rotation for round <paramref name="roundId"/>:
    /// SHA-256("SecureFedRec/v1\0rotation-seed\0" ‖ u64be(round id)). The one derivation (dp.md §"Rotation seed").
    /// </summary>
    public static byte[] RotationSeedFor(ulong roundId)
    {
        byte[] input = new byte[RotationLabel.Length + 8];
        RotationLabel.CopyTo(input);
        BinaryPrimitives.WriteUInt64BigEndian(input.AsSpan(RotationLabel.Length), roundId);
        return SHA256.HashData(input);
    }

    /// <summary>This round's rotation seed (<see cref="RotationSeedFor"/>).</summary>
    public byte[] RotationSeed() => RotationSeedFor(RoundId);

    /// <summary>Checks the fields a client relies on; null when consistent, else what is wrong.</summary>
    public string? Check()
    {
        if (Dp is null)
        {
            return "The contract has no DP parameters.";
        }

        if (!Enum.IsDefined(Mode) || Mode == ThreatMode.Unspecified)
        {
            return "The threat mode is not set.";
        }

        if (Privacy is not (PrivacyUnit.Institution or PrivacyUnit.User))
        {
            return "The privacy unit is not set.";
        }

        if (CohortProblem() is { } cohort)
        {
            return cohort;
        }

        if (Encoding == UpdateEncoding.DistributedDiscreteGaussian)
        {
            try
            {
                Dp.Validate();
            }
            catch (ArgumentException ex)
            {
                return "The DP parameters do not validate: " + ex.Message;
            }

            if (Privacy == PrivacyUnit.User && (!(UserClip > 0) || MaxUsersPerClient < 1 || UserClip > Dp.Clip))
            {
                return "Per-user privacy needs 0 < user clip ≤ clip and at least one user per client.";
            }

            return null;
        }

        if (Encoding == UpdateEncoding.FixedPointNoDp)
        {
            return FixedPointBounds.Count == Dp.Dimension && FixedPointBounds.All(b => b >= 0 && double.IsFinite(b))
                ? null
                : "The fixed-point bounds do not match the dimension.";
        }

        return "The update encoding is not set.";
    }

    /// <summary>
    /// The cohort's own rule (<c>cohort-listed</c>): empty (honest-but-curious only), or one entry per planned client with
    /// client numbers strictly increasing in [1, 2^31) and each name 1..256 UTF-8 bytes of non-control characters. A name
    /// listed twice is the cohort policy's refusal (<c>DuplicateCohortMember</c>), checked against the roster.
    /// </summary>
    private string? CohortProblem()
    {
        if (Cohort is null)
        {
            return "The cohort is missing.";
        }

        if (Cohort.Count == 0)
        {
            return Mode == ThreatMode.Malicious ? "A malicious-mode contract must list its cohort (rule cohort-listed)." : null;
        }

        if (Cohort.Count != Dp.PlannedClients)
        {
            return $"The cohort lists {Cohort.Count} members, the plan {Dp.PlannedClients} (rule cohort-listed).";
        }

        int previous = 0;
        foreach (CohortEntry entry in Cohort)
        {
            if (entry is null || entry.ClientNumber <= previous)
            {
                return "Cohort client numbers must be strictly increasing and positive (rule cohort-listed).";
            }

            previous = entry.ClientNumber;
            if (!IsName(entry.Organisation) || !IsName(entry.ClientId))
            {
                return $"Cohort entry {entry.ClientNumber}: organisation and client id must be 1..{CohortEntry.MaxNameBytes} UTF-8 bytes without control characters (rule cohort-listed).";
            }
        }

        return null;
    }

    private static bool IsName(string? name) =>
        !string.IsNullOrEmpty(name) && System.Text.Encoding.UTF8.GetByteCount(name) <= CohortEntry.MaxNameBytes && !name.Any(char.IsControl);

    private ref struct Writer(Span<byte> buffer)
    {
        private readonly Span<byte> _buffer = buffer;

        public int Position { get; private set; }

        public void Bytes(ReadOnlySpan<byte> value)
        {
            value.CopyTo(_buffer[Position..]);
            Position += value.Length;
        }

        public void U32(uint value)
        {
            BinaryPrimitives.WriteUInt32BigEndian(_buffer[Position..], value);
            Position += 4;
        }

        public void U64(ulong value)
        {
            BinaryPrimitives.WriteUInt64BigEndian(_buffer[Position..], value);
            Position += 8;
        }

        public void F64(double value)
        {
            BinaryPrimitives.WriteDoubleBigEndian(_buffer[Position..], value);
            Position += 8;
        }
    }
}
