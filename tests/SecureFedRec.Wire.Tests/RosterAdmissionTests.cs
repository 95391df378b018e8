using System.Net;
using Google.Protobuf;
using Grpc.Core;
using SecureFedRec.Crypto;
using SecureFedRec.Roster;
using SecureFedRec.Wire.Auth;
using SecureFedRec.Wire.Client;
using SecureFedRec.Wire.V1;

namespace SecureFedRec.Wire.Tests;

/// <summary>
/// A coordinator configured with a signed roster (Coordinator:Roster) on a real Kestrel: it serves the exact signed bytes
/// publicly, admits only current members (both identity suites), refuses everyone else before reading a body with the one
/// fixed denial, binds enrolment to the roster name, and enforces the per-client nonce quota and the connection cap.
/// </summary>
public sealed class RosterAdmissionTests : IAsyncLifetime
{
    private const string EnrolPath = "/securefedrec.coordinator.v1.Enrolment/Enrol";
    private const string ModelPath = "/securefedrec.coordinator.v1.Rounds/GetModel";
    private static readonly DateTimeOffset Now = RosterAuthority.TruncateToSecond(DateTimeOffset.UtcNow);

    private readonly IdentitySigningKey _authority = IdentitySigningKey.Generate(IdentitySuite.Ed25519);
    private readonly Dictionary<string, ClientIdentity> _ids = new(StringComparer.Ordinal)
    {
        ["ed25519"] = ClientIdentity.Generate(IdentitySuite.Ed25519),
        ["p256"] = ClientIdentity.Generate(IdentitySuite.EcdsaP256Sha256),
        ["revoked"] = ClientIdentity.Generate(),
        ["expired"] = ClientIdentity.Generate(),
        ["not-yet-valid"] = ClientIdentity.Generate(),
        ["stranger"] = ClientIdentity.Generate(),
    };

    private TestCoordinator _coordinator = null!;
    private byte[] _rosterBytes = [];

    public async Task InitializeAsync()
    {
        RosterContent draft = RosterAuthority.CreateDraft("wire-consortium", _authority, Now.AddHours(-1)) with { NotAfter = Now.AddDays(1) };
        void Add(string who, DateTimeOffset from, DateTimeOffset until)
        {
            ClientIdentity id = _ids[who];
            RosterCheck added = RosterAuthority.AddMember(draft, new RosterMember("org-" + who, who, id.Suite, id.PublicKey, from, until), out draft);
            Assert.True(added.Passed, added.ToString());
        }

        Add("ed25519", Now.AddHours(-1), Now.AddDays(1));
        Add("p256", Now.AddHours(-1), Now.AddDays(1));
        Add("revoked", Now.AddHours(-1), Now.AddDays(1));
        Add("expired", Now.AddHours(-1), Now.AddSeconds(-1));
        Add("not-yet-valid", Now.AddHours(1), Now.AddDays(1));
        Assert.True(RosterAuthority.Revoke(draft, "org-revoked", "revoked", Now.AddMinutes(-1), out draft).Passed);
        _rosterBytes = RosterFile.Format(RosterAuthority.Sign(draft, _authority));
        _coordinator = await TestCoordinator.StartAsync([], configure: (options, dir) =>
        {
            string path = Path.Combine(dir, "roster.json");
            File.WriteAllBytes(path, _rosterBytes);
            options.Roster.Path = path;
            options.Roster.Authority = IdentitySignature.NameOf(_authority.Suite) + ":" + Convert.ToHexStringLower(_authority.PublicKey);
            options.Limits.NoncesPerClient = 16;
            options.Limits.MaxConnections = 4;
        });
    }

    public async Task DisposeAsync()
    {
        await _coordinator.DisposeAsync();
        foreach (ClientIdentity id in _ids.Values)
        {
            id.Dispose();
        }

        _authority.Dispose();
    }

    private static Dictionary<string, string> Signed(ClientIdentity id, string path, byte[] payload) =>
        id.CreateHeaders(path, payload).ToDictionary(kv => kv.Key, kv => kv.Value);

    private static byte[] Enrol(ClientIdentity id, string organisation, string clientId) => new EnrolRequest
    {
        IdentityPublicKey = ByteString.CopyFrom(id.PublicKey),
        Organisation = organisation,
        RosterClientId = clientId,
    }.ToByteArray();

    [Fact]
    public async Task The_roster_is_served_publicly_as_the_exact_signed_bytes()
    {
        using var channel = new CoordinatorChannel(_coordinator.Address, new CoordinatorChannelOptions { MaxAttempts = 1 });
        GetRosterResponse response = await channel.Membership.GetRosterAsync(new GetRosterRequest());
        Assert.Equal(_rosterBytes, response.Roster.ToByteArray());
        Assert.Equal(1UL, response.Version);
        RosterVerification verified = new RosterVerifier(_authority.Suite, _authority.PublicKey).Verify(response.Roster.Span, DateTimeOffset.UtcNow);
        Assert.True(verified.Check.Passed, verified.Check.ToString());
        Assert.Equal(verified.Roster!.Digest, response.Digest);
    }

    [Theory]
    [InlineData("ed25519")]
    [InlineData("p256")]
    public async Task A_current_member_of_either_suite_enrols_under_its_roster_name(string who)
    {
        ClientIdentity id = _ids[who];
        using var channel = new CoordinatorChannel(_coordinator.Address, new CoordinatorChannelOptions { Authenticator = id, MaxAttempts = 1 });
        EnrolResponse enrolled = await channel.Enrolment.EnrolAsync(new EnrolRequest
        {
            IdentityPublicKey = ByteString.CopyFrom(id.PublicKey),
            Organisation = "org-" + who,
            RosterClientId = who,
        });
        Assert.Equal((id.ClientId, "org-" + who, who, 1UL), (enrolled.ClientId, enrolled.Organisation, enrolled.RosterClientId, enrolled.RosterVersion));
    }

    [Theory]
    [InlineData("revoked")]
    [InlineData("expired")]
    [InlineData("not-yet-valid")]
    [InlineData("stranger")]
    public async Task A_non_current_member_is_denied_before_its_body_is_read(string who)
    {
        ClientIdentity id = _ids[who];
        byte[] payload = Enrol(id, "org-" + who, who);
        // The prefix announces 16 MiB that never come: a server that read the body would wait or say RESOURCE_EXHAUSTED.
        (_, string? status, string? message) = await _coordinator.RawAsync(EnrolPath, Convert.FromHexString("0001000000"), headers: Signed(id, EnrolPath, payload));
        Assert.Equal(("7", "Permission denied."), (status, message));
    }

    [Theory]
    [InlineData("org-p256", "p256", "9", "KeyMismatch")]
    [InlineData("org-other", "ed25519", "9", "NotInRoster")]
    [InlineData("", "", "3", "enrolment roster name")]
    public async Task Enrolment_under_another_roster_name_is_refused_with_the_rule_named(string organisation, string clientId, string status, string rule)
    {
        ClientIdentity id = _ids["ed25519"];
        byte[] payload = Enrol(id, organisation, clientId);
        (_, string? s, string? message) = await _coordinator.RawAsync(EnrolPath, TestCoordinator.Frame(payload), headers: Signed(id, EnrolPath, payload));
        Assert.Equal(status, s);
        Assert.Contains(rule, message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task One_client_spending_its_nonce_quota_is_refused_and_the_others_are_not()
    {
        ClientIdentity greedy = _ids["ed25519"];
        byte[] payload = new GetModelRequest().ToByteArray();
        string? status = null, message = null;
        for (int i = 0; i < 17; i++)
        {
            (_, status, message) = await _coordinator.RawAsync(ModelPath, TestCoordinator.Frame(payload), headers: Signed(greedy, ModelPath, payload));
            if (i < 16)
            {
                Assert.NotEqual("8", status);
            }
        }

        Assert.Equal(("8", SignedRequestAuthenticatorMessages.Quota), (status, message));
        (_, string? other, _) = await _coordinator.RawAsync(ModelPath, TestCoordinator.Frame(payload), headers: Signed(_ids["p256"], ModelPath, payload));
        Assert.NotEqual("8", other);
    }

    [Fact]
    public async Task Connections_above_the_cap_are_closed_at_accept()
    {
        var handlers = new List<HttpClient>();
        try
        {
            for (int i = 0; i < 4; i++)
            {
                var http = new HttpClient(new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1) });
                handlers.Add(http);
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_coordinator.Address, "healthz")) { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
                using HttpResponseMessage ok = await http.SendAsync(request);
                Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            }

            using var extra = new HttpClient();
            using var refused = new HttpRequestMessage(HttpMethod.Get, new Uri(_coordinator.Address, "healthz")) { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
            await Assert.ThrowsAsync<HttpRequestException>(() => extra.SendAsync(refused));
        }
        finally
        {
            foreach (HttpClient http in handlers)
            {
                http.Dispose();
            }
        }
    }
}

/// <summary>The coordinator's fixed refusal messages the tests compare against.</summary>
internal static class SignedRequestAuthenticatorMessages
{
    public const string Quota = Coordinator.Grpc.SignedRequestAuthenticator.QuotaMessage;
}
