using System.Buffers.Binary;
using System.Security.Cryptography;
using SecureFedRec.Crypto;

namespace SecureFedRec.Protocol.Internal;

/// <summary>
/// The only place the protocol touches SecureFedRec.Crypto: key agreement, HKDF with domain labels, AEAD, signatures,
/// the mask PRG and Shamir sharing, expressed in the protocol's own byte encodings (secagg.md §"Derivations").
/// </summary>
internal static class Primitives
{
    public const int SeedLength = 32;
    public const int ShareValueLength = 33;
    public const int SignatureLength = 64;
    public const int DigestLength = 32;

    public static KeyAgreementAlgorithm Algorithm(KeyAgreementSuite suite) => suite switch
    {
        KeyAgreementSuite.X25519 => KeyAgreementAlgorithm.X25519,
        KeyAgreementSuite.P256 => KeyAgreementAlgorithm.P256,
        _ => throw new ArgumentOutOfRangeException(nameof(suite), suite, "Unknown key-agreement suite."),
    };

    public static int PublicKeyLength(KeyAgreementSuite suite) => Algorithm(suite).PublicKeyLength;

    public static PrivateKey GenerateKey(KeyAgreementSuite suite, RandomSource rng) => Algorithm(suite).GenerateKey(rng);

    public static PrivateKey ImportKey(KeyAgreementSuite suite, ReadOnlySpan<byte> scalar) => Algorithm(suite).ImportPrivateKey(scalar);

    public static byte[] PublicKeyOf(PrivateKey key) => key.PublicKey.ToArray();

    /// <summary>HKDF-SHA256(ikm = DH(mine, peer), salt, info = label) into <paramref name="output"/>; false for an invalid peer key.</summary>
    public static bool TryAgreeAndDerive(KeyAgreementSuite suite, PrivateKey mine, ReadOnlySpan<byte> peerPublicKey,
        ReadOnlySpan<byte> salt, DomainLabel label, Span<byte> output)
    {
        if (!Algorithm(suite).TryAgree(mine, peerPublicKey, out SharedSecret? secret))
        {
            return false;
        }

        using (secret)
        {
            Hkdf.DeriveKey(secret, salt, label, output);
        }

        return true;
    }

    /// <summary>HKDF-SHA256(ikm = DH(mine, peer), salt, info = an encoded label) into <paramref name="output"/> without
    /// allocating (the shared secret stays in a per-thread pinned buffer, wiped at once); false for an invalid peer key.</summary>
    public static bool TryAgreeAndDerive(KeyAgreementSuite suite, PrivateKey mine, ReadOnlySpan<byte> peerPublicKey,
        ReadOnlySpan<byte> salt, ReadOnlySpan<byte> info, Span<byte> output) =>
        Algorithm(suite).TryAgreeAndDerive(mine, peerPublicKey, salt, info, output);

    /// <summary>AES-256-GCM seal with the key read from the caller's buffer (no copy of it).</summary>
    public static void Seal(ReadOnlySpan<byte> key32, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> plaintext,
        Span<byte> output, RandomSource rng) =>
        Aead.SealWithKey(key32, associatedData, plaintext, output, rng);

    /// <summary>AES-256-GCM open with the key read from the caller's buffer (no copy of it).</summary>
    public static bool TryOpen(ReadOnlySpan<byte> key32, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> sealedMessage,
        Span<byte> plaintext) =>
        Aead.TryOpenWithKey(key32, associatedData, sealedMessage, plaintext);

    public static int AeadOverhead => Aead.Overhead;

    /// <summary>Signs with an identity key of either suite; both suites' signatures are <see cref="SignatureLength"/> bytes.</summary>
    public static byte[] Sign(IdentitySigningKey key, ReadOnlySpan<byte> message)
    {
        var signature = new byte[SignatureLength];
        key.Sign(message, signature);
        return signature;
    }

    /// <summary>Verifies under the enrolled key's own suite; false for a wrong length, an invalid key or an unknown suite.</summary>
    public static bool Verify(IdentityPublicKey identity, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature) =>
        signature.Length == SignatureLength && IdentitySignature.Verify(identity, message, signature);

    public static void AddMask(ReadOnlySpan<byte> seed, ReadOnlySpan<byte> context, int bits, Span<uint> vector) =>
        MaskPrg.AddMask(seed, context, bits, vector);

    public static void SubtractMask(ReadOnlySpan<byte> seed, ReadOnlySpan<byte> context, int bits, Span<uint> vector) =>
        MaskPrg.SubtractMask(seed, context, bits, vector);

    public static void GenerateMask(ReadOnlySpan<byte> seed, ReadOnlySpan<byte> context, int bits, Span<uint> output) =>
        MaskPrg.Generate(seed, context, bits, output);

    /// <summary>Shamir shares of a 32-byte secret for holders <paramref name="xs"/>; values are 33-byte big-endian.</summary>
    public static byte[][] Split(ReadOnlySpan<byte> secret32, int threshold, ReadOnlySpan<int> xs, RandomSource rng)
    {
        ShamirShare[] shares = Shamir.Split(secret32, threshold, xs, rng);
        var values = new byte[shares.Length][];
        try
        {
            for (int i = 0; i < shares.Length; i++)
            {
                values[i] = new byte[ShareValueLength];
                shares[i].ExportY(values[i]);
            }
        }
        finally
        {
            foreach (ShamirShare share in shares)
            {
                share.Dispose();
            }
        }

        return values;
    }

    /// <summary>Shamir shares of a 32-byte secret for holders <paramref name="xs"/> written to <paramref name="ys"/> (33 bytes
    /// each, in holder order) without allocating; the same randomness and shares as <see cref="Split"/>. The caller wipes ys.</summary>
    public static void SplitInto(ReadOnlySpan<byte> secret32, int threshold, ReadOnlySpan<int> xs, Span<byte> ys, RandomSource rng) =>
        Shamir.SplitInto(secret32, threshold, xs, ys, rng);

    /// <summary>Reconstructs a 32-byte secret from (x, 33-byte value) pairs.</summary>
    public static ShamirResult TryReconstruct(IReadOnlyList<(int X, byte[] Value)> shares, int threshold, Span<byte> secret32)
    {
        var holders = new List<ShamirShare>(shares.Count);
        try
        {
            foreach ((int x, byte[] value) in shares)
            {
                holders.Add(ShamirShare.Import(x, value));
            }

            return Shamir.TryReconstruct(holders, threshold, secret32);
        }
        finally
        {
            foreach (ShamirShare share in holders)
            {
                share.Dispose();
            }
        }
    }

    public static byte[] Sha256(ReadOnlySpan<byte> data) => Crypto.Sha256.HashData(data);

    public static void WriteU32(Span<byte> destination, uint value) => BinaryPrimitives.WriteUInt32BigEndian(destination, value);

    public static void Wipe(Span<byte> buffer) => CryptographicOperations.ZeroMemory(buffer);

    public static bool FixedTimeEquals(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => CryptographicOperations.FixedTimeEquals(a, b);
}
