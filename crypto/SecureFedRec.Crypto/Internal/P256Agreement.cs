using System.Security.Cryptography;

namespace SecureFedRec.Crypto.Internal;

/// <summary>
/// ECDH P-256 on the system's OpenSSL libcrypto directly (<see cref="OpenSslP256"/>: <c>EC_POINT_oct2point</c> +
/// <c>ECDH_compute_key</c>, self-tested on a NIST CAVP vector before first use), falling back to .NET's
/// <see cref="ECDiffieHellman"/> where libcrypto cannot be loaded. The private key's native object is created once and kept
/// in the <see cref="PrivateKey"/> holder. The peer point is validated here (on the curve, coordinates &lt; p) before
/// OpenSSL sees it, independently of the platform's own checks; both paths derive the same x-coordinate. On the .NET path
/// the <c>D</c> arrays passed to and returned from .NET are wiped right after use, and the raw agreement array is wiped
/// after copying into the holder; on the direct path the secret is written straight into the holder's pinned array.
/// </summary>
internal sealed class P256Agreement : KeyAgreementAlgorithm
{
    public override KeyAgreementSuite Id => KeyAgreementSuite.P256;

    public override int PublicKeyLength => 65;

    private protected override void GenerateScalar(RandomSource rng, byte[] scalar) => P256Curve.GenerateScalar(rng, scalar);

    private protected override bool IsValidScalar(ReadOnlySpan<byte> scalar) => P256Curve.IsValidScalar(scalar);

    /// <summary>False forces the .NET <see cref="ECDiffieHellman"/> path (tests cross-check both; the benchmark measures both).</summary>
    internal bool UseOpenSsl { get; init; } = true;

    private protected override PrivateKey CreateKey(PinnedSecret scalar)
    {
        if (UseOpenSsl && OpenSslP256.IsAvailable)
        {
            byte[] publicKey = new byte[65];
            OpenSslP256.NativeKey? native = OpenSslP256.ImportPrivate(scalar.Span(scalar), publicKey);
            if (native is not null)
            {
                return new PrivateKey(this, scalar, publicKey, native);
            }
        }

        ECParameters parameters = P256Curve.PrivateParameters(scalar.Span(scalar));
        ECDiffieHellman? ecdh = null;
        try
        {
            ecdh = ECDiffieHellman.Create(parameters);
            ECParameters exported = ecdh.ExportParameters(includePrivateParameters: false);
            return new PrivateKey(this, scalar, P256Curve.Encode(exported.Q), ecdh);
        }
        catch
        {
            ecdh?.Dispose();
            throw;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(parameters.D);
        }
    }

    private protected override bool AgreeCore(PrivateKey mine, ReadOnlySpan<byte> peerPublicKey, byte[] output)
    {
        if (!P256Curve.IsValidUncompressedPoint(peerPublicKey))
        {
            return false;
        }

        if (mine.Native is OpenSslP256.NativeKey native)
        {
            return OpenSslP256.Derive(native, peerPublicKey, output);
        }

        byte[]? raw = null;
        try
        {
            using var peer = ECDiffieHellman.Create(P256Curve.PublicParameters(peerPublicKey));
            using ECDiffieHellmanPublicKey peerKey = peer.PublicKey;
            var ecdh = (ECDiffieHellman)mine.Native!;
            lock (ecdh)
            {
                raw = ecdh.DeriveRawSecretAgreement(peerKey);
            }

            if (raw.Length != 32)
            {
                return false;
            }

            raw.CopyTo(output, 0);
            return true;
        }
        catch (CryptographicException)
        {
            // The platform refused the point (it already passed our own check, so this is defensive).
            return false;
        }
        finally
        {
            if (raw is not null)
            {
                CryptographicOperations.ZeroMemory(raw);
            }
        }
    }
}
