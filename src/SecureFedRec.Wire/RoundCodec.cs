using System.Buffers.Binary;
using System.Security.Cryptography;
using Google.Protobuf;
using SecureFedRec.Privacy;
using SecureFedRec.Privacy.Accounting;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Wire.V1;

namespace SecureFedRec.Wire;

/// <summary>
/// Encodings that coordinator and clients must agree on byte for byte (docs/integrators.md): the model, the DP
/// parameters on the wire, the binding of a round's public facts into the secure-aggregation session, and the public
/// rotation seed of the DP mechanism.
/// </summary>
/// <remarks>Stateless; thread-safe. Decoders throw <see cref="FormatException"/> for malformed input.</remarks>
public static class RoundCodec
{
    private static ReadOnlySpan<byte> BindingLabel => "SecureFedRec/v1\0round-binding\0"u8;

    private static ReadOnlySpan<byte> RotationLabel => "SecureFedRec/v1\0rotation-seed\0"u8;

    /// <summary>Model encoding: u32be(d) ‖ d little-endian IEEE 754 binary64 values.</summary>
    public static byte[] EncodeModel(ReadOnlySpan<double> model)
    {
        byte[] bytes = new byte[4 + (8 * model.Length)];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)model.Length);
        for (int i = 0; i < model.Length; i++)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(4 + (8 * i)), model[i]);
        }

        return bytes;
    }

    /// <summary>Decodes <see cref="EncodeModel"/>; <see cref="FormatException"/> for a wrong length or a non-finite value.</summary>
    public static double[] DecodeModel(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 4)
        {
            throw new FormatException("Model shorter than its 4-byte length prefix.");
        }

        uint d = BinaryPrimitives.ReadUInt32BigEndian(bytes);
        if ((ulong)bytes.Length != 4 + (8UL * d))
        {
            throw new FormatException("Model length does not match its prefix.");
        }

        double[] model = new double[d];
        for (int i = 0; i < model.Length; i++)
        {
            model[i] = BinaryPrimitives.ReadDoubleLittleEndian(bytes[(4 + (8 * i))..]);
            if (!double.IsFinite(model[i]))
            {
                throw new FormatException("Model holds a non-finite value.");
            }
        }

        return model;
    }

    /// <summary>
    /// The ε of one round of <paramref name="p"/> at its δ with <c>MinClients</c> contributors: what the coordinator
    /// claims in <c>DpParameters.claimed_epsilon</c> and what a client recomputes (the accountant of protocol-spec/dp.md).
    /// </summary>
    public static double ClaimedEpsilon(MechanismParameters p)
    {
        ArgumentNullException.ThrowIfNull(p);
        return DistributedDiscreteGaussianAccountant.RoundCurve(p, p.MinClients).ToEpsilon(p.Delta).Epsilon;
    }

    /// <summary>The wire form of mechanism parameters with the claim of <see cref="ClaimedEpsilon"/>.</summary>
    public static DpParameters ToWire(MechanismParameters p) => ToWire(p, ClaimedEpsilon(p));

    /// <summary>The wire form of mechanism parameters.</summary>
    public static DpParameters ToWire(MechanismParameters p, double claimedEpsilon)
    {
        ArgumentNullException.ThrowIfNull(p);
        return new DpParameters
        {
            Dimension = (uint)p.Dimension,
            Bits = (uint)p.Bits,
            Clip = p.Clip,
            Gamma = p.Gamma,
            Beta = p.Beta,
            SigmaSquaredNumerator = p.SigmaSquaredNumerator,
            SigmaSquaredDenominator = p.SigmaSquaredDenominator,
            PlannedClients = (uint)p.PlannedClients,
            MinClients = (uint)p.MinClients,
            Delta = p.Delta,
            SamplingRate = p.SamplingRate,
            K = p.K,
            ClaimedEpsilon = claimedEpsilon,
        };
    }

    /// <summary>Mechanism parameters from the wire; <see cref="FormatException"/> when they do not validate.</summary>
    public static MechanismParameters FromWire(DpParameters wire)
    {
        ArgumentNullException.ThrowIfNull(wire);
        if (wire.Dimension > int.MaxValue || wire.Bits > 32 || wire.PlannedClients > int.MaxValue || wire.MinClients > int.MaxValue)
        {
            throw new FormatException("DP parameters out of range.");
        }

        var p = new MechanismParameters
        {
            Dimension = (int)wire.Dimension,
            Bits = (int)wire.Bits,
            Clip = wire.Clip,
            Gamma = wire.Gamma,
            Beta = wire.Beta,
            SigmaSquaredNumerator = wire.SigmaSquaredNumerator,
            SigmaSquaredDenominator = wire.SigmaSquaredDenominator,
            PlannedClients = (int)wire.PlannedClients,
            MinClients = (int)wire.MinClients,
            Delta = wire.Delta,
            SamplingRate = wire.SamplingRate,
            K = wire.K,
        };
        try
        {
            p.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new FormatException("DP parameters do not validate: " + ex.Message, ex);
        }

        return p;
    }

    /// <summary>
    /// The secure-aggregation binding of a round: SHA-256("SecureFedRec/v1" 0 "round-binding" 0 ‖ u64be(round id) ‖
    /// u64be(model version) ‖ u32be(threat mode) ‖ serialized DpParameters).
    /// </summary>
    public static byte[] Binding(ulong roundId, ulong modelVersion, ThreatMode mode, DpParameters dp)
    {
        ArgumentNullException.ThrowIfNull(dp);
        byte[] serialized = dp.ToByteArray();
        byte[] input = new byte[BindingLabel.Length + 8 + 8 + 4 + serialized.Length];
        Span<byte> w = input;
        BindingLabel.CopyTo(w);
        w = w[BindingLabel.Length..];
        BinaryPrimitives.WriteUInt64BigEndian(w, roundId);
        BinaryPrimitives.WriteUInt64BigEndian(w[8..], modelVersion);
        BinaryPrimitives.WriteUInt32BigEndian(w[16..], (uint)mode);
        serialized.CopyTo(w[20..]);
        return SHA256.HashData(input);
    }

    /// <summary>The public rotation seed of round <paramref name="roundId"/>: SHA-256(label ‖ u64be(round id)).</summary>
    public static byte[] RotationSeed(ulong roundId)
    {
        byte[] input = new byte[RotationLabel.Length + 8];
        RotationLabel.CopyTo(input);
        BinaryPrimitives.WriteUInt64BigEndian(input.AsSpan(RotationLabel.Length), roundId);
        return SHA256.HashData(input);
    }

    /// <summary>The ledger round id of a coordinator round: <c>round-{id}</c>.</summary>
    public static string LedgerRoundId(ulong roundId) =>
        "round-" + roundId.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
