using System.Security.Cryptography;
using SecureFedRec.Coordinator.Grpc;
using SecureFedRec.Wire.Auth;

namespace SecureFedRec.Wire.Tests;

public class AuthTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Signed_headers_verify_under_the_identity_key()
    {
        using var id = ClientIdentity.Generate(new ManualTimeProvider(T0));
        byte[] request = [1, 2, 3];
        var headers = id.CreateHeaders("/p.S/M", request).ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal(id.ClientId, headers[RequestSignature.ClientIdHeader]);
        Assert.Equal(T0.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture), headers[RequestSignature.TimestampHeader]);
        byte[] nonce = Convert.FromBase64String(headers[RequestSignature.NonceHeader]);
        byte[] signature = Convert.FromBase64String(headers[RequestSignature.SignatureHeader]);
        byte[] signed = RequestSignature.BuildSignedMessage("/p.S/M", request, id.ClientId, T0.ToUnixTimeMilliseconds(), nonce);
        Assert.True(RequestSignature.Verify(id.PublicKey, signed, signature));
    }

    [Fact]
    public void The_request_hash_header_is_the_sha256_of_the_request_and_is_what_is_signed()
    {
        using var id = ClientIdentity.Generate(new ManualTimeProvider(T0));
        byte[] request = [9, 8, 7];
        var headers = id.CreateHeaders("/p.S/M", request).ToDictionary(kv => kv.Key, kv => kv.Value);
        byte[] hash = Convert.FromBase64String(headers[RequestSignature.RequestHashHeader]);
        Assert.Equal(SHA256.HashData(request), hash);
        byte[] nonce = Convert.FromBase64String(headers[RequestSignature.NonceHeader]);
        Assert.Equal(
            RequestSignature.BuildSignedMessage("/p.S/M", request, id.ClientId, T0.ToUnixTimeMilliseconds(), nonce),
            RequestSignature.BuildSignedMessageFromHash("/p.S/M", hash, id.ClientId, T0.ToUnixTimeMilliseconds(), nonce));
    }

    public static TheoryData<string> Tampered => new() { "method", "request", "client", "timestamp", "nonce", "signature", "key" };

    [Theory]
    [MemberData(nameof(Tampered))]
    public void Any_changed_field_breaks_the_signature(string field)
    {
        using var id = ClientIdentity.Generate();
        using var other = ClientIdentity.Generate();
        var headers = id.CreateHeaders("/p.S/M", [1, 2, 3]).ToDictionary(kv => kv.Key, kv => kv.Value);
        long ts = long.Parse(headers[RequestSignature.TimestampHeader], System.Globalization.CultureInfo.InvariantCulture);
        byte[] n = Convert.FromBase64String(headers[RequestSignature.NonceHeader]);
        byte[] sig = Convert.FromBase64String(headers[RequestSignature.SignatureHeader]);
        Assert.True(RequestSignature.Verify(id.PublicKey, RequestSignature.BuildSignedMessage("/p.S/M", [1, 2, 3], id.ClientId, ts, n), sig));

        byte[] n2 = (byte[])n.Clone();
        n2[0] ^= 1;
        byte[] sig2 = (byte[])sig.Clone();
        sig2[10] ^= 1;
        (string method, byte[] req, string client, long t, byte[] nn, byte[] s, byte[] key) = field switch
        {
            "method" => ("/p.S/N", new byte[] { 1, 2, 3 }, id.ClientId, ts, n, sig, id.PublicKey),
            "request" => ("/p.S/M", [1, 2, 4], id.ClientId, ts, n, sig, id.PublicKey),
            "client" => ("/p.S/M", [1, 2, 3], other.ClientId, ts, n, sig, id.PublicKey),
            "timestamp" => ("/p.S/M", [1, 2, 3], id.ClientId, ts + 1, n, sig, id.PublicKey),
            "nonce" => ("/p.S/M", [1, 2, 3], id.ClientId, ts, n2, sig, id.PublicKey),
            "signature" => ("/p.S/M", [1, 2, 3], id.ClientId, ts, n, sig2, id.PublicKey),
            _ => ("/p.S/M", [1, 2, 3], id.ClientId, ts, n, sig, other.PublicKey),
        };
        Assert.False(RequestSignature.Verify(key, RequestSignature.BuildSignedMessage(method, req, client, t, nn), s));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(64)]
    [InlineData(66)]
    public void Malformed_public_keys_do_not_verify(int length)
    {
        Assert.False(RequestSignature.Verify(new byte[length], [1], new byte[64]));
    }

    [Fact]
    public void A_point_off_the_curve_does_not_verify()
    {
        byte[] key = new byte[65];
        key[0] = 4;
        key[64] = 7;
        Assert.False(RequestSignature.Verify(key, [1], new byte[64]));
    }

    [Fact]
    public void Client_id_is_the_hex_sha256_of_the_public_key()
    {
        using var id = ClientIdentity.Generate();
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(id.PublicKey)), id.ClientId);
        Assert.True(RequestSignature.IsClientId(id.ClientId));
        Assert.False(RequestSignature.IsClientId(id.ClientId.ToUpperInvariant()));
        Assert.False(RequestSignature.IsClientId(id.ClientId[1..]));
    }

    [Theory]
    [InlineData(Crypto.IdentitySuite.Ed25519)]
    [InlineData(Crypto.IdentitySuite.EcdsaP256Sha256)]
    public void Identity_round_trips_through_its_key_file(Crypto.IdentitySuite suite)
    {
        string dir = Directory.CreateTempSubdirectory("sfr-id-").FullName;
        try
        {
            using var id = ClientIdentity.Generate(suite);
            string path = Path.Combine(dir, "id.key");
            id.WriteKeyFile(path);
            using var back = ClientIdentity.FromKeyFile(path);
            Assert.Equal(id.ClientId, back.ClientId);
            Assert.Equal(suite, back.Suite);
            Assert.DoesNotContain("PRIVATE", id.ToString(), StringComparison.Ordinal);
            Assert.Throws<Roster.UnsafeOutputPathException>(() => id.WriteKeyFile(path));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("p384")]
    [InlineData("garbage")]
    public void A_key_of_no_identity_suite_is_refused(string kind)
    {
        string dir = Directory.CreateTempSubdirectory("sfr-id-").FullName;
        try
        {
            string path = Path.Combine(dir, "id.key");
            using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
            File.WriteAllText(path, kind == "p384" ? p384.ExportPkcs8PrivateKeyPem() : "not a key");
            Assert.Throws<ArgumentException>(() => ClientIdentity.FromKeyFile(path));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Replay_guard_accepts_once_then_refuses()
    {
        var clock = new ManualTimeProvider(T0);
        var guard = new ReplayGuard(clock, TimeSpan.FromSeconds(120));
        byte[] nonce = new byte[16];
        long now = T0.ToUnixTimeMilliseconds();
        Assert.Equal(ReplayVerdict.Fresh, guard.Check("a", nonce, now));
        Assert.Equal(ReplayVerdict.Replayed, guard.Check("a", nonce, now));
        Assert.Equal(ReplayVerdict.Fresh, guard.Check("b", nonce, now));
        clock.Advance(TimeSpan.FromSeconds(119));
        Assert.Equal(ReplayVerdict.Replayed, guard.Check("a", nonce, now));
        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(ReplayVerdict.Stale, guard.Check("a", nonce, now));
    }

    [Theory]
    [InlineData(-121_000, ReplayVerdict.Stale)]
    [InlineData(-120_000, ReplayVerdict.Fresh)]
    [InlineData(120_000, ReplayVerdict.Fresh)]
    [InlineData(120_001, ReplayVerdict.Stale)]
    public void Replay_guard_enforces_the_time_window(long offsetMs, ReplayVerdict expected)
    {
        var guard = new ReplayGuard(new ManualTimeProvider(T0), TimeSpan.FromSeconds(120));
        Assert.Equal(expected, guard.Check("a", new byte[16], T0.ToUnixTimeMilliseconds() + offsetMs));
    }

    [Fact]
    public void Replay_guard_refuses_rather_than_evicts_when_full_and_frees_expired_nonces()
    {
        var clock = new ManualTimeProvider(T0);
        var guard = new ReplayGuard(clock, TimeSpan.FromSeconds(10), capacity: 2);
        long now = T0.ToUnixTimeMilliseconds();
        Assert.Equal(ReplayVerdict.Fresh, guard.Check("a", [1], now));
        Assert.Equal(ReplayVerdict.Fresh, guard.Check("a", [2], now));
        Assert.Equal(ReplayVerdict.Overloaded, guard.Check("a", [3], now));
        Assert.Equal(ReplayVerdict.Replayed, guard.Check("a", [1], now));
        clock.Advance(TimeSpan.FromSeconds(21));
        Assert.Equal(ReplayVerdict.Fresh, guard.Check("a", [3], now + 21_000));
    }

    [Fact]
    public void Replay_guard_quota_stops_one_client_from_filling_the_cache_for_the_others()
    {
        var clock = new ManualTimeProvider(T0);
        var guard = new ReplayGuard(clock, TimeSpan.FromSeconds(10), capacity: 100, perClientCapacity: 3);
        long now = T0.ToUnixTimeMilliseconds();
        for (byte i = 0; i < 3; i++)
        {
            Assert.Equal(ReplayVerdict.Fresh, guard.Check("greedy", [i], now));
        }

        Assert.Equal(ReplayVerdict.QuotaExceeded, guard.Check("greedy", [9], now));
        Assert.Equal(ReplayVerdict.Fresh, guard.Check("other", [9], now));
        // The quota is per window: once the greedy client's nonces age out it may send again.
        clock.Advance(TimeSpan.FromSeconds(21));
        Assert.Equal(ReplayVerdict.Fresh, guard.Check("greedy", [9], now + 21_000));
    }

    [Theory]
    [InlineData(ReplayVerdict.QuotaExceeded, Grpc.Core.StatusCode.ResourceExhausted)]
    [InlineData(ReplayVerdict.Overloaded, Grpc.Core.StatusCode.Unavailable)]
    public async Task A_full_quota_or_cache_is_refused_with_its_status_named(ReplayVerdict full, Grpc.Core.StatusCode expected)
    {
        using var id = ClientIdentity.Generate();
        var guard = full == ReplayVerdict.QuotaExceeded
            ? new ReplayGuard(TimeProvider.System, TimeSpan.FromSeconds(60), capacity: 100, perClientCapacity: 16)
            : new ReplayGuard(TimeProvider.System, TimeSpan.FromSeconds(60), capacity: 16);
        var auth = new SignedRequestAuthenticator((cid, _) => ValueTask.FromResult<byte[]?>(cid == id.ClientId ? id.PublicKey : null), guard);
        AuthVerdict last = null!;
        for (int i = 0; i < 17; i++)
        {
            var headers = id.CreateHeaders("/m", [1]).ToDictionary(kv => kv.Key, kv => kv.Value);
            last = await auth.AuthenticateAsync("/m", name => headers.GetValueOrDefault(name), CancellationToken.None);
            if (i < 16)
            {
                Assert.True(last.IsAuthenticated, last.Message);
            }
        }

        Assert.Equal(expected, last.Status);
        Assert.Contains("rule:", last.Message, StringComparison.Ordinal);
    }
}
