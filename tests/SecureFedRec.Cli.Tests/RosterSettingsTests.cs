using SecureFedRec.Client;
using SecureFedRec.Configuration;
using SecureFedRec.Coordinator;

namespace SecureFedRec.Cli.Tests;

/// <summary>
/// The roster, identity and limit settings (Coordinator:Roster, Coordinator:Limits, Client:RosterAuthority/Organisation/
/// ClientId/RosterCheckpointPath) are read strictly: each wrong value is one problem naming its setting.
/// The base files are valid roster deployments (no allow-list).
/// </summary>
public sealed class RosterSettingsTests
{
    private const string Pin = "\"ed25519:d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a\"";

    private static Dictionary<string, string> CoordinatorBase(TempDir dir)
    {
        Dictionary<string, string> keys = ConfigFiles.Coordinator(dir);
        keys.Remove("Coordinator:AllowListPath");
        dir.File("roster.json", "{}");
        keys["Coordinator:Roster:Path"] = "\"roster.json\"";
        keys["Coordinator:Roster:Authority"] = Pin;
        return keys;
    }

    private static Dictionary<string, string> ClientBase(TempDir dir)
    {
        Dictionary<string, string> keys = ConfigFiles.Client(dir);
        keys["Client:RosterAuthority"] = Pin;
        keys["Client:Organisation"] = "\"bank-a\"";
        keys["Client:ClientId"] = "\"c1\"";
        return keys;
    }

    private static void Set(Dictionary<string, string> keys, string key, string? raw)
    {
        if (raw is null)
        {
            keys.Remove(key);
        }
        else
        {
            keys[key] = raw;
        }
    }

    [Fact]
    public void The_valid_roster_files_load()
    {
        using var dir = new TempDir();
        CoordinatorOptions c = CoordinatorConfiguration.Load(ConfigFiles.Write(dir, "coordinator.json", CoordinatorBase(dir)));
        Assert.Equal(dir["roster.json"], c.Roster.Path);
        ClientSettings client = ClientSettings.Load(ConfigFiles.Write(dir, "client.json", ClientBase(dir)));
        Assert.Equal(("bank-a", "c1"), (client.Organisation, client.ClientId));
    }

    public static TheoryData<string, string?, string> BadCoordinatorValues => new()
    {
        { "Coordinator:Roster:Path", "\"nobody.json\"", "Coordinator:Roster:Path: file " },
        { "Coordinator:Roster:Path", null, "Coordinator:Roster:Path: is required when Authority is set" },
        { "Coordinator:Roster:Authority", null, "Coordinator:Roster:Authority: is required when Path is set" },
        { "Coordinator:Roster:Authority", "\"ed25519:zz\"", "Coordinator:Roster:Authority: 'ed25519:zz' is not SUITE:HEX of a valid public key" },
        { "Coordinator:Roster:Authority", "\"rsa:00\"", "Coordinator:Roster:Authority: 'rsa:00' is not SUITE:HEX of a valid public key" },
        { "Coordinator:Roster:Authority", "\"ed25519:" + new string('0', 62) + "\"", "Coordinator:Roster:Authority: 'ed25519:" },
        { "Coordinator:Roster:Fips", "true", "Coordinator:Roster:Authority: is an ed25519 key, but Fips allows only ecdsa-p256-sha256." },
        { "Coordinator:Roster:Fips", "\"maybe\"", "Coordinator:Roster:Fips: 'maybe' is not true or false" },
        { "Coordinator:Roster:Pth", "\"roster.json\"", "Coordinator:Roster:Pth is not a setting (in coordinator.json); did you mean Coordinator:Roster:Path?" },
        { "Coordinator:AllowListPath", "\"allow.txt\"", "Coordinator:AllowListPath: cannot be combined with Coordinator:Roster" },
        { "Coordinator:Limits:MaxConnections", "0", "Coordinator:Limits:MaxConnections: '0' is out of range: must be in [1, 1000000]." },
        { "Coordinator:Limits:MaxStreamsPerConnection", "0", "Coordinator:Limits:MaxStreamsPerConnection: '0' is out of range: must be in [1, 10000]." },
        { "Coordinator:Limits:NoncesPerClient", "1", "Coordinator:Limits:NoncesPerClient: '1' is out of range: must be in [16, 10000000]." },
        { "Coordinator:Limits:NonceCapacity", "\"many\"", "Coordinator:Limits:NonceCapacity: 'many' is not a whole number" },
    };

    [Theory]
    [MemberData(nameof(BadCoordinatorValues))]
    public void A_bad_roster_or_limit_value_is_one_problem_naming_its_setting(string key, string? raw, string expected)
    {
        using var dir = new TempDir();
        Dictionary<string, string> keys = CoordinatorBase(dir);
        Set(keys, key, raw);
        var ex = Assert.Throws<ConfigurationException>(() => CoordinatorConfiguration.Load(ConfigFiles.Write(dir, "coordinator.json", keys)));
        string problem = Assert.Single(ex.Problems);
        Assert.StartsWith(expected, problem, StringComparison.Ordinal);
    }

    public static TheoryData<string, string?, string> BadClientValues => new()
    {
        { "Client:RosterAuthority", "\"ed25519\"", "Client:RosterAuthority: 'ed25519' is not SUITE:HEX of a valid public key" },
        { "Client:Organisation", null, "Client:Organisation: is required with RosterAuthority" },
        { "Client:Organisation", "\"Bank A\"", "Client:Organisation: is required with RosterAuthority: this client's organisation in the roster, 1..64 characters of [a-z0-9._-]" },
        { "Client:ClientId", "\"../c1\"", "Client:ClientId: is required with RosterAuthority: this client's id in the roster" },
        { "Client:RosterCheckpointPath", "\"/nonexistent-sfr/x.roster\"", "Client:RosterCheckpointPath: folder /nonexistent-sfr (which would hold x.roster) does not exist." },
        { "Client:RosterAuthorty", Pin, "Client:RosterAuthorty is not a setting (in client.json); did you mean Client:RosterAuthority?" },
    };

    [Theory]
    [MemberData(nameof(BadClientValues))]
    public void A_bad_client_roster_value_is_one_problem_naming_its_setting(string key, string? raw, string expected)
    {
        using var dir = new TempDir();
        Dictionary<string, string> keys = ClientBase(dir);
        Set(keys, key, raw);
        var ex = Assert.Throws<ConfigurationException>(() => ClientSettings.Load(ConfigFiles.Write(dir, "client.json", keys)));
        string problem = Assert.Single(ex.Problems);
        Assert.StartsWith(expected, problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Client:Organisation", "\"bank-a\"")]
    [InlineData("Client:ClientId", "\"c1\"")]
    public void A_roster_name_without_a_pinned_authority_is_refused(string key, string raw)
    {
        using var dir = new TempDir();
        Dictionary<string, string> keys = ConfigFiles.Client(dir);
        keys[key] = raw;
        var ex = Assert.Throws<ConfigurationException>(() => ClientSettings.Load(ConfigFiles.Write(dir, "client.json", keys)));
        Assert.StartsWith(key + ": needs RosterAuthority", Assert.Single(ex.Problems), StringComparison.Ordinal);
    }
}
