using SecureFedRec.Crypto;
using SecureFedRec.Privacy.Mechanism;

namespace SecureFedRec.Rounds.Internal;

/// <summary>Encodes and decodes updates as a <see cref="RoundContract"/> says (the one place for both ends).</summary>
internal sealed class UpdateCodec
{
    private readonly RoundContract _contract;
    private readonly DistributedDiscreteGaussianMechanism? _mechanism;
    private readonly double[] _scale = [];
    private readonly double[] _bound = [];

    public UpdateCodec(RoundContract contract)
    {
        _contract = contract;
        if (contract.IsPrivate)
        {
            _mechanism = new DistributedDiscreteGaussianMechanism(contract.Dp);
            return;
        }

        int d = contract.Dp.Dimension;
        int n = contract.Dp.PlannedClients;
        double half = Math.Pow(2, contract.Dp.Bits - 1) - 1;
        _scale = new double[d];
        _bound = new double[d];
        for (int j = 0; j < d; j++)
        {
            double b = contract.FixedPointBounds[j];
            if (b > 0)
            {
                _bound[j] = b;
                _scale[j] = Math.Floor(half / (n * b));
            }
        }
    }

    /// <summary>Encodes one client's update: a total (length d) or per-user vectors (per-user privacy).</summary>
    public uint[] Encode(LocalUpdate update, RandomSource noise)
    {
        int d = _contract.Dp.Dimension;
        if (_mechanism is not null)
        {
            byte[] seed = _contract.RotationSeed();
            return update.Users is { } users && _contract.Privacy == PrivacyUnit.User
                ? _mechanism.EncodeSilo(users, _contract.UserClip, seed, noise)
                : _mechanism.Encode(update.Total(d), seed, noise);
        }

        double[] x = update.Total(d);
        uint mask = _contract.Dp.Bits == 32 ? uint.MaxValue : (1u << _contract.Dp.Bits) - 1;
        var result = new uint[d];
        for (int j = 0; j < d; j++)
        {
            if (_scale[j] == 0)
            {
                continue;
            }

            double v = double.IsNaN(x[j]) ? 0 : Math.Clamp(x[j], -_bound[j], _bound[j]);
            long q = (long)Math.Round(v * _scale[j], MidpointRounding.ToEven);
            result[j] = unchecked((uint)q) & mask;
        }

        return result;
    }

    /// <summary>Decodes the modular sum of <paramref name="contributors"/> encodings; null sum with the failure when untrustworthy.</summary>
    public (double[]? Sum, DecodeFailure Failure) Decode(uint[] sum, int contributors)
    {
        if (_mechanism is not null)
        {
            DecodeResult decoded = _mechanism.Decode(sum, contributors, _contract.RotationSeed());
            return decoded.Succeeded ? (decoded.Sum!.Take(_contract.Dp.Dimension).ToArray(), DecodeFailure.None) : (null, decoded.Failure);
        }

        int bits = _contract.Dp.Bits;
        long modulus = 1L << bits;
        long half = 1L << (bits - 1);
        var result = new double[_scale.Length];
        for (int j = 0; j < result.Length; j++)
        {
            if (_scale[j] == 0)
            {
                continue;
            }

            long v = sum[j];
            long centred = v >= half ? v - modulus : v;
            result[j] = centred / _scale[j];
        }

        return (result, DecodeFailure.None);
    }
}
