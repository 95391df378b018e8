using System.Security.Cryptography;
using BcX25519 = Org.BouncyCastle.Math.EC.Rfc7748.X25519;

namespace SecureFedRec.Crypto.Internal;

/// <summary>
/// X25519 (RFC 7748): through the system's OpenSSL libcrypto when it loads and passes its self-test
/// (<see cref="OpenSslX25519"/>), otherwise over BouncyCastle.Cryptography's (2.x) constant-time implementation. Both paths are pinned
/// by the same known-answer vectors. On the BouncyCastle path: BouncyCastle reads the private scalar
/// directly from the holder's pinned array and writes the output straight into the result holder's pinned array, so no
/// unwiped copy is made here. The peer key is public and copied into a plain array. Honest limit: BouncyCastle's ladder
/// keeps its field elements in short-lived managed int[] temporaries that it does not wipe; they hold values derived from
/// the scalar and are left to the garbage collector.
/// </summary>
internal sealed class X25519Agreement : KeyAgreementAlgorithm
{
    public override KeyAgreementSuite Id => KeyAgreementSuite.X25519;

    public override int PublicKeyLength => 32;

    private protected override void GenerateScalar(RandomSource rng, byte[] scalar) => rng.Fill(scalar);

    // Every 32-byte string is a valid X25519 private key (it is clamped at use, RFC 7748 §5).
    private protected override bool IsValidScalar(ReadOnlySpan<byte> scalar) => true;

    /// <summary>False forces the BouncyCastle path (tests run the vectors through both).</summary>
    internal bool UseOpenSsl { get; init; } = true;

    private protected override PrivateKey CreateKey(PinnedSecret scalar)
    {
        byte[] publicKey = new byte[32];
        if (UseOpenSsl && OpenSslX25519.IsAvailable)
        {
            OpenSslX25519.NativeKey? native = OpenSslX25519.ImportPrivate(scalar.Span(scalar), publicKey);
            if (native is not null)
            {
                return new PrivateKey(this, scalar, publicKey, native);
            }
        }

        BcX25519.ScalarMultBase(scalar.Array(scalar), 0, publicKey, 0);
        return new PrivateKey(this, scalar, publicKey, native: null);
    }

    private protected override bool AgreeCore(PrivateKey mine, ReadOnlySpan<byte> peerPublicKey, byte[] output)
    {
        if (mine.Native is OpenSslX25519.NativeKey native)
        {
            // OpenSSL refuses an all-zero result itself; a refusal is the same "false" as below.
            return OpenSslX25519.Derive(native, peerPublicKey, output);
        }

        byte[] u = peerPublicKey.ToArray();
        BcX25519.ScalarMult(mine.ScalarArray, 0, u, 0, output, 0);

        // RFC 7748 §6.1: reject the all-zero output (the peer sent a low-order point). Checked in constant time.
        Span<byte> zero = stackalloc byte[32];
        zero.Clear();
        return !CryptographicOperations.FixedTimeEquals(output, zero);
    }

    /// <summary>Raw RFC 7748 §5 scalar multiplication (for the §5.2 vectors): output = X25519(k, u).</summary>
    internal static void ScalarMult(ReadOnlySpan<byte> k, ReadOnlySpan<byte> u, Span<byte> output)
    {
        byte[] kk = k.ToArray();
        byte[] r = new byte[32];
        try
        {
            BcX25519.ScalarMult(kk, 0, u.ToArray(), 0, r, 0);
            r.CopyTo(output);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(kk);
            CryptographicOperations.ZeroMemory(r);
        }
    }
}
