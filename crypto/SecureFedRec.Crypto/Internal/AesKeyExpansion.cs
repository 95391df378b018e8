using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using X86Aes = System.Runtime.Intrinsics.X86.Aes;

namespace SecureFedRec.Crypto.Internal;

/// <summary>FIPS 197 §5.2 key expansion with AESKEYGENASSIST (constant-time), for AES-128 and AES-256.</summary>
internal static class AesKeyExpansion
{
    private static Vector128<byte> ExpandStep(Vector128<byte> key, Vector128<byte> assist)
    {
        Vector128<byte> t = Sse2.ShiftLeftLogical128BitLane(key, 4);
        key ^= t;
        t = Sse2.ShiftLeftLogical128BitLane(t, 4);
        key ^= t;
        t = Sse2.ShiftLeftLogical128BitLane(t, 4);
        key ^= t;
        return key ^ assist;
    }

    private static Vector128<byte> Word3(Vector128<byte> v) => Sse2.Shuffle(v.AsInt32(), 0xFF).AsByte();

    private static Vector128<byte> Word2(Vector128<byte> v) => Sse2.Shuffle(v.AsInt32(), 0xAA).AsByte();

    /// <summary>FIPS 197 §5.2 key expansion for AES-128 via AESKEYGENASSIST (Intel AES-NI white paper, Fig. 19).</summary>
    internal static void Expand128(ReadOnlySpan<byte> key, Vector128<byte>[] rk)
    {
        Vector128<byte> k = Vector128.Create(key);
        rk[0] = k;
        k = ExpandStep(k, Word3(X86Aes.KeygenAssist(k, 0x01))); rk[1] = k;
        k = ExpandStep(k, Word3(X86Aes.KeygenAssist(k, 0x02))); rk[2] = k;
        k = ExpandStep(k, Word3(X86Aes.KeygenAssist(k, 0x04))); rk[3] = k;
        k = ExpandStep(k, Word3(X86Aes.KeygenAssist(k, 0x08))); rk[4] = k;
        k = ExpandStep(k, Word3(X86Aes.KeygenAssist(k, 0x10))); rk[5] = k;
        k = ExpandStep(k, Word3(X86Aes.KeygenAssist(k, 0x20))); rk[6] = k;
        k = ExpandStep(k, Word3(X86Aes.KeygenAssist(k, 0x40))); rk[7] = k;
        k = ExpandStep(k, Word3(X86Aes.KeygenAssist(k, 0x80))); rk[8] = k;
        k = ExpandStep(k, Word3(X86Aes.KeygenAssist(k, 0x1B))); rk[9] = k;
        k = ExpandStep(k, Word3(X86Aes.KeygenAssist(k, 0x36))); rk[10] = k;
    }

    /// <summary>FIPS 197 §5.2 key expansion for AES-256 via AESKEYGENASSIST (Intel AES-NI white paper, Fig. 25).</summary>
    internal static void Expand256(ReadOnlySpan<byte> key, Vector128<byte>[] rk)
    {
        Vector128<byte> a = Vector128.Create(key[..16]);
        Vector128<byte> b = Vector128.Create(key[16..]);
        rk[0] = a;
        rk[1] = b;
        a = ExpandStep(a, Word3(X86Aes.KeygenAssist(b, 0x01))); rk[2] = a;
        b = ExpandStep(b, Word2(X86Aes.KeygenAssist(a, 0x00))); rk[3] = b;
        a = ExpandStep(a, Word3(X86Aes.KeygenAssist(b, 0x02))); rk[4] = a;
        b = ExpandStep(b, Word2(X86Aes.KeygenAssist(a, 0x00))); rk[5] = b;
        a = ExpandStep(a, Word3(X86Aes.KeygenAssist(b, 0x04))); rk[6] = a;
        b = ExpandStep(b, Word2(X86Aes.KeygenAssist(a, 0x00))); rk[7] = b;
        a = ExpandStep(a, Word3(X86Aes.KeygenAssist(b, 0x08))); rk[8] = a;
        b = ExpandStep(b, Word2(X86Aes.KeygenAssist(a, 0x00))); rk[9] = b;
        a = ExpandStep(a, Word3(X86Aes.KeygenAssist(b, 0x10))); rk[10] = a;
        b = ExpandStep(b, Word2(X86Aes.KeygenAssist(a, 0x00))); rk[11] = b;
        a = ExpandStep(a, Word3(X86Aes.KeygenAssist(b, 0x20))); rk[12] = a;
        b = ExpandStep(b, Word2(X86Aes.KeygenAssist(a, 0x00))); rk[13] = b;
        a = ExpandStep(a, Word3(X86Aes.KeygenAssist(b, 0x40))); rk[14] = a;
    }
}
