using System.Buffers.Binary;
using SecureFedRec.Privacy;
using SecureFedRec.Rounds;
using SecureFedRec.Wire.V1;

namespace SecureFedRec.Wire;

/// <summary>
/// Encodings that coordinator and clients must agree on byte for byte (docs/integrators.md): the model, the DP
/// parameters and the round contract on the wire (the binding itself is <see cref="RoundContract.Binding"/>, defined once).
/// </summary>
/// <remarks>Stateless; thread-safe. Decoders throw <see cref="FormatException"/> for malformed input.</remarks>
public static class RoundCodec
{
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
    /// The wire form of a round contract for the client numbered <paramref name="clientNumber"/> (coordinator.proto
    /// RoundInfo): every field of the contract travels, so the client rebuilds exactly the contract whose canonical
    /// encoding the secure-aggregation binding commits to (secagg.md §2.1).
    /// </summary>
    public static RoundInfo ToWire(RoundContract contract, int clientNumber)
    {
        ArgumentNullException.ThrowIfNull(contract);
        var info = new RoundInfo
        {
            RoundId = contract.RoundId,
            ModelVersion = contract.ModelVersion,
            ThreatMode = contract.Mode,
            Dp = ToWire(contract.Dp, contract.ClaimedEpsilon),
            ClientNumber = (uint)clientNumber,
            PrivacyUnit = contract.Privacy switch
            {
                Rounds.PrivacyUnit.Institution => V1.PrivacyUnit.Institution,
                Rounds.PrivacyUnit.User => V1.PrivacyUnit.User,
                _ => V1.PrivacyUnit.Unspecified,
            },
            Encoding = contract.Encoding switch
            {
                Rounds.UpdateEncoding.DistributedDiscreteGaussian => V1.UpdateEncoding.DistributedDiscreteGaussian,
                Rounds.UpdateEncoding.FixedPointNoDp => V1.UpdateEncoding.FixedPointNoDp,
                _ => V1.UpdateEncoding.Unspecified,
            },
            UserClip = contract.UserClip,
            MaxUsersPerClient = (uint)contract.MaxUsersPerClient,
        };
        info.FixedPointBounds.AddRange(contract.FixedPointBounds);
        info.Cohort.AddRange(contract.Cohort.Select(e => new V1.CohortEntry
        {
            ClientNumber = (uint)e.ClientNumber,
            Organisation = e.Organisation,
            ClientId = e.ClientId,
        }));
        return info;
    }

    /// <summary>
    /// The round contract a RoundInfo announces; <see cref="FormatException"/> when a field is out of range or a closed
    /// vocabulary value is unknown. Whether it is the contract the session binds is checked by the client round.
    /// </summary>
    public static RoundContract FromWire(RoundInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        if (info.Dp is null)
        {
            throw new FormatException("RoundInfo without dp.");
        }

        if (info.MaxUsersPerClient is 0 or > int.MaxValue)
        {
            throw new FormatException("RoundInfo.max_users_per_client must be in [1, 2^31).");
        }

        Rounds.PrivacyUnit unit = info.PrivacyUnit switch
        {
            V1.PrivacyUnit.Institution => Rounds.PrivacyUnit.Institution,
            V1.PrivacyUnit.User => Rounds.PrivacyUnit.User,
            _ => throw new FormatException("RoundInfo.privacy_unit is not a known privacy unit."),
        };
        Rounds.UpdateEncoding encoding = info.Encoding switch
        {
            V1.UpdateEncoding.DistributedDiscreteGaussian => Rounds.UpdateEncoding.DistributedDiscreteGaussian,
            V1.UpdateEncoding.FixedPointNoDp => Rounds.UpdateEncoding.FixedPointNoDp,
            _ => throw new FormatException("RoundInfo.encoding is not a known update encoding."),
        };
        if (!double.IsFinite(info.UserClip) || info.UserClip < 0 || info.FixedPointBounds.Any(b => !double.IsFinite(b) || b <= 0))
        {
            throw new FormatException("RoundInfo.user_clip and fixed_point_bounds must be finite and positive.");
        }

        return new RoundContract(info.RoundId, info.ModelVersion, info.ThreatMode, FromWire(info.Dp))
        {
            Privacy = unit,
            Encoding = encoding,
            ClaimedEpsilon = info.Dp.ClaimedEpsilon,
            UserClip = info.UserClip,
            MaxUsersPerClient = (int)info.MaxUsersPerClient,
            FixedPointBounds = [.. info.FixedPointBounds],
            Cohort = info.Cohort.Select(e => e.ClientNumber is 0 or > int.MaxValue
                ? throw new FormatException("RoundInfo.cohort client numbers must be in [1, 2^31).")
                : new Rounds.CohortEntry((int)e.ClientNumber, e.Organisation, e.ClientId)).ToArray(),
        };
    }
}
