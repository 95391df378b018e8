using System.Security.Cryptography;
using SecureFedRec.Crypto.Internal;

namespace SecureFedRec.Crypto;

/// <summary>
/// The mask PRG of secure aggregation: an AES-256-CTR keystream, keyed from a 32-byte seed and a context, read as uniform
/// elements of Z_{2^bits}.
/// </summary>
/// <remarks>
/// <para>Definition (normative, pinned by vectors): key = HKDF-SHA256(ikm = seed, salt = empty,
/// info = <c>DomainLabel.For("mask-prg").Add(context)</c>, 32 bytes); keystream = AES-256-CTR with the initial counter
/// block 0^128 incremented as a 128-bit big-endian integer (NIST SP 800-38A §6.5); element i = little-endian 32-bit word
/// i of the keystream AND (2^bits − 1), uniform on [0, 2^bits) because 2^bits divides 2^32.</para>
/// <para><see cref="AddMask(ReadOnlySpan{byte}, ReadOnlySpan{byte}, int, Span{uint})"/> and
/// <see cref="SubtractMask(ReadOnlySpan{byte}, ReadOnlySpan{byte}, int, Span{uint})"/> are fused: the keystream is made in
/// registers (AES-NI, 8 blocks in flight; .NET 10 has no VAES intrinsics) and added into the vector with 256-bit SIMD,
/// reduced mod 2^bits; any tail goes through a 4 KiB stack piece, and that piece and the round keys are wiped afterwards. Results are always reduced mod 2^bits, also when the input had higher bits set.</para>
/// <para>To mask a vector in chunks, or from an element offset, open a <see cref="MaskStream"/> (same stream, key derived
/// once, readable from any offset).</para>
/// <para>Limits: 1 ≤ bits ≤ 32; at most <see cref="MaxElementsPerStream"/> elements per (seed, context); context ≤ 4,096 bytes.
/// Violations throw <see cref="ArgumentException"/>/<see cref="ArgumentOutOfRangeException"/>. Stateless and thread-safe.</para>
/// </remarks>
public static class MaskPrg
{
    /// <summary>Most elements drawn from one (seed, context): 2^30 (4 GiB of keystream).</summary>
    public const int MaxElementsPerStream = 1 << 30;

    /// <summary>Seed length: 32 bytes.</summary>
    public const int SeedLength = 32;

    /// <summary>Largest context.</summary>
    public const int MaxContextLength = 4096;

    /// <summary>Writes the mask (elements in [0, 2^bits)) into <paramref name="output"/>.</summary>
    public static void Generate(ReadOnlySpan<byte> seed32, ReadOnlySpan<byte> context, int bits, Span<uint> output) =>
        Run(seed32, context, bits, output, MaskOperation.Overwrite, AesCtrBackend.Auto);

    /// <summary><paramref name="vector"/>[i] = (vector[i] + mask[i]) mod 2^bits.</summary>
    public static void AddMask(ReadOnlySpan<byte> seed32, ReadOnlySpan<byte> context, int bits, Span<uint> vector) =>
        Run(seed32, context, bits, vector, MaskOperation.Add, AesCtrBackend.Auto);

    /// <summary><paramref name="vector"/>[i] = (vector[i] − mask[i]) mod 2^bits.</summary>
    public static void SubtractMask(ReadOnlySpan<byte> seed32, ReadOnlySpan<byte> context, int bits, Span<uint> vector) =>
        Run(seed32, context, bits, vector, MaskOperation.Subtract, AesCtrBackend.Auto);

    /// <summary><see cref="Generate(ReadOnlySpan{byte}, ReadOnlySpan{byte}, int, Span{uint})"/> with a seed held in a <see cref="SecretBytes"/>.</summary>
    public static void Generate(SecretBytes seed, ReadOnlySpan<byte> context, int bits, Span<uint> output)
    {
        ArgumentNullException.ThrowIfNull(seed);
        Generate(seed.Span, context, bits, output);
    }

    /// <summary><see cref="AddMask(ReadOnlySpan{byte}, ReadOnlySpan{byte}, int, Span{uint})"/> with a seed held in a <see cref="SecretBytes"/>.</summary>
    public static void AddMask(SecretBytes seed, ReadOnlySpan<byte> context, int bits, Span<uint> vector)
    {
        ArgumentNullException.ThrowIfNull(seed);
        AddMask(seed.Span, context, bits, vector);
    }

    /// <summary><see cref="SubtractMask(ReadOnlySpan{byte}, ReadOnlySpan{byte}, int, Span{uint})"/> with a seed held in a <see cref="SecretBytes"/>.</summary>
    public static void SubtractMask(SecretBytes seed, ReadOnlySpan<byte> context, int bits, Span<uint> vector)
    {
        ArgumentNullException.ThrowIfNull(seed);
        SubtractMask(seed.Span, context, bits, vector);
    }

    /// <summary>The mask for the given bit width: 2^bits − 1.</summary>
    internal static uint BitMask(int bits) => bits == 32 ? uint.MaxValue : (1u << bits) - 1;

    internal static void ValidateStream(ReadOnlySpan<byte> seed32, ReadOnlySpan<byte> context, int bits)
    {
        if (seed32.Length != SeedLength)
        {
            throw new ArgumentException("The mask seed must be exactly 32 bytes.", nameof(seed32));
        }

        if (context.Length > MaxContextLength)
        {
            throw new ArgumentException($"The context may not exceed {MaxContextLength} bytes.", nameof(context));
        }

        if (bits is < 1 or > 32)
        {
            throw new ArgumentOutOfRangeException(nameof(bits), bits, "bits must be in 1..32.");
        }
    }

    internal static void Run(ReadOnlySpan<byte> seed32, ReadOnlySpan<byte> context, int bits, Span<uint> vector, MaskOperation operation, AesCtrBackend backend)
    {
        ValidateStream(seed32, context, bits);
        if (vector.Length > MaxElementsPerStream)
        {
            throw new ArgumentException($"At most {MaxElementsPerStream} elements per (seed, context).", nameof(vector));
        }

        Span<byte> key = stackalloc byte[32];
        try
        {
            DeriveKey(seed32, context, key);
            AesCtr.ApplyMask(key, vector, BitMask(bits), operation, backend);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    internal static void DeriveKey(ReadOnlySpan<byte> seed32, ReadOnlySpan<byte> context, Span<byte> key) =>
        Hkdf.DeriveKey(seed32, ReadOnlySpan<byte>.Empty, DomainLabel.For("mask-prg").Add(context), key);
}
