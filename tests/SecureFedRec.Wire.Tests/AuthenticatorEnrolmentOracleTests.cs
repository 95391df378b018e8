using Grpc.Core;
using SecureFedRec.Coordinator.Grpc;
using SecureFedRec.Wire.Auth;

namespace SecureFedRec.Wire.Tests;

/// <summary>
/// An unknown client id does the same signature work as an enrolled one (verification against a dummy key) and gets the
/// same PERMISSION_DENIED as a bad signature. No timing assertions: the verifier calls are counted instead.
/// </summary>
public sealed class AuthenticatorEnrolmentOracleTests : IDisposable
{
    private const string Method = "/securefedrec.coordinator.v1.Enrolment/Enrol";
    private static readonly byte[] Request = [7, 8, 9];

    private readonly ClientIdentity _enrolled = ClientIdentity.Generate();
    private readonly ClientIdentity _stranger = ClientIdentity.Generate();
    private readonly List<byte[]> _verifiedUnder = [];
    private readonly SignedRequestAuthenticator _auth;

    public AuthenticatorEnrolmentOracleTests()
    {
        var allowList = new Dictionary<string, byte[]>(StringComparer.Ordinal) { [_enrolled.ClientId] = _enrolled.PublicKey };
        _auth = new SignedRequestAuthenticator(
            (id, _) => ValueTask.FromResult(allowList.TryGetValue(id, out byte[]? k) ? k : null),
            new ReplayGuard(TimeProvider.System, TimeSpan.FromSeconds(60)),
            (key, message, signature) =>
            {
                _verifiedUnder.Add(key.ToArray());
                return RequestSignature.Verify(key, message, signature);
            });
    }

    public void Dispose()
    {
        _enrolled.Dispose();
        _stranger.Dispose();
    }

    private ValueTask<AuthVerdict> Call(ClientIdentity identity, bool corruptSignature = false, bool unpadded = false)
    {
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string name, string value) in identity.CreateHeaders(Method, Request))
        {
            string v = value;
            if (corruptSignature && name == RequestSignature.SignatureHeader)
            {
                byte[] sig = Convert.FromBase64String(value);
                sig[10] ^= 1;
                v = Convert.ToBase64String(sig);
            }

            headers[name] = unpadded ? v.TrimEnd('=') : v;
        }

        return _auth.AuthenticateAsync(Method, name => headers.GetValueOrDefault(name), CancellationToken.None);
    }

    [Fact]
    public async Task Unknown_id_verifies_against_the_dummy_key_and_is_denied()
    {
        AuthVerdict verdict = await Call(_stranger);

        Assert.Equal(StatusCode.PermissionDenied, verdict.Status);
        Assert.Equal(SignedRequestAuthenticator.DeniedMessage, verdict.Message);
        byte[] key = Assert.Single(_verifiedUnder);
        Assert.Equal(_auth.DummyPublicKey, key);
        Assert.NotEqual(_stranger.PublicKey, key);
    }

    [Fact]
    public async Task Unknown_id_and_bad_signature_get_the_identical_denial()
    {
        AuthVerdict unknown = await Call(_stranger);
        AuthVerdict badSignature = await Call(_enrolled, corruptSignature: true);

        Assert.Equal(badSignature, unknown);
        Assert.Equal(2, _verifiedUnder.Count);
        Assert.Equal(_enrolled.PublicKey, _verifiedUnder[1]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Enrolled_id_with_a_good_signature_is_accepted_after_one_verification(bool unpaddedBase64)
    {
        AuthVerdict verdict = await Call(_enrolled, unpadded: unpaddedBase64);

        Assert.True(verdict.IsAuthenticated, verdict.Message);
        Assert.Equal(_enrolled.ClientId, verdict.ClientId);
        Assert.Equal(System.Security.Cryptography.SHA256.HashData(Request), verdict.RequestHash);
        Assert.Equal(_enrolled.PublicKey, Assert.Single(_verifiedUnder));
    }

    public static TheoryData<string> MissingHeaders => new()
    {
        RequestSignature.ClientIdHeader, RequestSignature.TimestampHeader, RequestSignature.NonceHeader,
        RequestSignature.RequestHashHeader, RequestSignature.SignatureHeader,
    };

    [Theory]
    [MemberData(nameof(MissingHeaders))]
    public async Task A_missing_header_is_unauthenticated_without_any_signature_work(string missing)
    {
        var headers = _enrolled.CreateHeaders(Method, Request).ToDictionary(kv => kv.Key, kv => kv.Value);
        headers.Remove(missing);

        AuthVerdict verdict = await _auth.AuthenticateAsync(Method, name => headers.GetValueOrDefault(name), CancellationToken.None);

        Assert.Equal(StatusCode.Unauthenticated, verdict.Status);
        Assert.Empty(_verifiedUnder);
    }

    [Fact]
    public void Dummy_key_is_a_fixed_valid_point_no_request_verifies_under()
    {
        byte[] a = _auth.DummyPublicKey;
        byte[] b = _auth.DummyPublicKey;

        Assert.Equal(a, b);
        Assert.NotSame(a, b);
        Assert.Equal(RequestSignature.Ed25519PublicKeyLength, a.Length);
        Assert.Equal(64, RequestSignature.ClientIdOf(a).Length);
        var headers = _stranger.CreateHeaders(Method, Request).ToDictionary(kv => kv.Key, kv => kv.Value);
        long ts = long.Parse(headers[RequestSignature.TimestampHeader], System.Globalization.CultureInfo.InvariantCulture);
        byte[] signed = RequestSignature.BuildSignedMessage(Method, Request, _stranger.ClientId, ts, Convert.FromBase64String(headers[RequestSignature.NonceHeader]));
        byte[] signature = Convert.FromBase64String(headers[RequestSignature.SignatureHeader]);
        Assert.True(RequestSignature.Verify(_stranger.PublicKey, signed, signature));
        Assert.False(RequestSignature.Verify(a, signed, signature));
    }
}
