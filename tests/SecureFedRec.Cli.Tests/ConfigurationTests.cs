using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SecureFedRec.Client;
using SecureFedRec.Configuration;
using SecureFedRec.Coordinator;

namespace SecureFedRec.Cli.Tests;

/// <summary>Strict configuration: unknown keys, unreadable values, every rule, each reported with its path, all at once.</summary>
public sealed class ConfigurationTests
{
    private static ConfigurationException CoordinatorFails(string key, string? raw, Dictionary<string, string?>? environment = null)
    {
        using var dir = new TempDir();
        Dictionary<string, string> keys = ConfigFiles.Coordinator(dir);
        if (raw is null)
        {
            keys.Remove(key);
        }
        else
        {
            keys[key] = raw;
        }

        string file = ConfigFiles.Write(dir, "coordinator.json", keys);
        return WithEnvironment(environment, () => Assert.Throws<ConfigurationException>(() => CoordinatorConfiguration.Load(file)));
    }

    private static ConfigurationException ClientFails(string key, string? raw)
    {
        using var dir = new TempDir();
        Dictionary<string, string> keys = ConfigFiles.Client(dir);
        if (key.StartsWith("Client:Recommender:", StringComparison.Ordinal))
        {
            keys["Client:Recommender:Items"] = "10";
        }

        if (raw is null)
        {
            keys.Remove(key);
        }
        else
        {
            keys[key] = raw;
        }

        string file = ConfigFiles.Write(dir, "client.json", keys);
        return Assert.Throws<ConfigurationException>(() => ClientSettings.Load(file));
    }

    private static T WithEnvironment<T>(Dictionary<string, string?>? environment, Func<T> run)
    {
        var previous = new Dictionary<string, string?>();
        foreach ((string k, string? v) in environment ?? [])
        {
            previous[k] = Environment.GetEnvironmentVariable(k);
            Environment.SetEnvironmentVariable(k, v);
        }

        try
        {
            return run();
        }
        finally
        {
            foreach ((string k, string? v) in previous)
            {
                Environment.SetEnvironmentVariable(k, v);
            }
        }
    }

    [Fact]
    public void A_misspelt_privacy_key_fails_with_its_path_and_the_nearest_known_key()
    {
        ConfigurationException ex = ClientFails("Client:Policy:MaxTotalEpsilonn", "0.5");
        Assert.Equal(["Client:Policy:MaxTotalEpsilonn is not a setting (in client.json); did you mean Client:Policy:MaxTotalEpsilon?"], ex.Problems);
    }

    [Fact]
    public void The_valid_files_load_with_paths_relative_to_the_file()
    {
        using var dir = new TempDir();
        CoordinatorOptions c = CoordinatorConfiguration.Load(ConfigFiles.Write(dir, "coordinator.json", ConfigFiles.Coordinator(dir)));
        Assert.Equal(dir["c.db"], c.Store);
        Assert.Equal(dir["c.crt"], c.CertificatePath);
        Assert.Equal(3, c.Rounds.CohortSize);
        ClientSettings s = ClientSettings.Load(ConfigFiles.Write(dir, "client.json", ConfigFiles.Client(dir)));
        Assert.Equal(dir["bank.ledger"], s.LedgerPath);
        Assert.Equal(10, s.Policy.MaxTotalEpsilon);
    }

    public static TheoryData<string, string, string> UnknownCoordinatorKeys => new()
    {
        { "Coordinator:Rounds:CohortSise", "5", "Coordinator:Rounds:CohortSise is not a setting (in coordinator.json); did you mean Coordinator:Rounds:CohortSize?" },
        { "Coordinator:CohortSize", "5", "Coordinator:CohortSize is not a setting (in coordinator.json); did you mean Coordinator:Rounds:CohortSize?" },
        { "Coordinator:Rounds:Cohort", "5", "Coordinator:Rounds:Cohort is not a setting (in coordinator.json); did you mean Coordinator:Rounds:CohortSize?" },
        { "Coordinator:Prot", "7443", "Coordinator:Prot is not a setting (in coordinator.json); did you mean Coordinator:Port?" },
        { "Coordinator:Colour", "\"blue\"", "Coordinator:Colour is not a setting (in coordinator.json); the settings of Coordinator are AllowList, AllowListPath, AuthWindowSeconds, CertificateKeyPath, CertificatePath, InsecureDev, Limits, ListenAddress, MaxMessageBytes, Operators, Port, Roster, Rounds, Store, StoreProvider, Telemetry, Transfer." },
        { "Coordinater:Port", "1", "Coordinater is not a setting (in coordinator.json); did you mean Coordinator?" },
        { "Kestrel:Endpoints", "1", "Kestrel is not a section of this program (in coordinator.json); the sections are Coordinator, Logging." },
    };

    [Theory]
    [MemberData(nameof(UnknownCoordinatorKeys))]
    public void An_unknown_coordinator_key_is_refused_with_the_nearest_known_key(string key, string raw, string expected)
    {
        Assert.Equal([expected], CoordinatorFails(key, raw).Problems);
    }

    public static TheoryData<string, string?, string> BadCoordinatorValues => new()
    {
        { "Coordinator:ListenAddress", "\"localhost\"", "Coordinator:ListenAddress: 'localhost' is not an IP address" },
        { "Coordinator:Port", "70000", "Coordinator:Port: '70000' is out of range: must be in [0, 65535]." },
        { "Coordinator:Port", "-1", "Coordinator:Port: '-1' is out of range: must be in [0, 65535]." },
        { "Coordinator:Port", "\"https\"", "Coordinator:Port: 'https' is not a whole number (in coordinator.json)." },
        { "Coordinator:Port", "7443.5", "Coordinator:Port: '7443.5' is not a whole number (in coordinator.json)." },
        { "Coordinator:Port", "{\"x\": 1}", "Coordinator:Port: is a single value (a whole number), not a section (in coordinator.json)." },
        { "Coordinator:CertificatePath", null, "Coordinator:CertificatePath: is required: TLS is on by default" },
        { "Coordinator:CertificateKeyPath", "\"missing.key\"", "Coordinator:CertificateKeyPath: file " },
        { "Coordinator:InsecureDev", "\"yes\"", "Coordinator:InsecureDev: 'yes' is not true or false (in coordinator.json)." },
        { "Coordinator:StoreProvider", "\"mysql\"", "Coordinator:StoreProvider: 'mysql' is not allowed: use one of sqlite, postgres." },
        { "Coordinator:Store", "\"\"", "Coordinator:Store: is required (it is empty)." },
        { "Coordinator:Store", "\"/nonexistent-sfr/x.db\"", "Coordinator:Store: folder /nonexistent-sfr (which would hold x.db) does not exist." },
        { "Coordinator:AllowListPath", "\"nobody.txt\"", "Coordinator:AllowListPath: file " },
        { "Coordinator:AllowList", "[\"0411\"]", "Coordinator:AllowList:0: is not an identity public key" },
        { "Coordinator:AllowList", "\"" + ConfigFiles.Key + "\"", "Coordinator:AllowList: is a list: write a JSON array" },
        { "Coordinator:AuthWindowSeconds", "0", "Coordinator:AuthWindowSeconds: '0' is out of range: must be in [1, 3600]." },
        { "Coordinator:MaxMessageBytes", "10", "Coordinator:MaxMessageBytes: '10' is out of range: must be in [1024, 268435456]." },
        { "Coordinator:Rounds", "5", "Coordinator:Rounds: is a section (keys CohortSize, MinClients, ThresholdFraction" },
        { "Coordinator:Rounds:CohortSize", "1", "Coordinator:Rounds:CohortSize: '1' is out of range: must be in [2, 1000000]." },
        { "Coordinator:Rounds:MinClients", "1", "Coordinator:Rounds:MinClients: '1' is out of range: must be in [2, 1000000]." },
        { "Coordinator:Rounds:MinClients", "4", "Coordinator:Rounds:MinClients: 4 exceeds CohortSize 3" },
        { "Coordinator:Rounds:ThresholdFraction", "0", "Coordinator:Rounds:ThresholdFraction: '0' is out of range: must be in (0, 1]." },
        { "Coordinator:Rounds:ThresholdFraction", "1.5", "Coordinator:Rounds:ThresholdFraction: '1.5' is out of range: must be in (0, 1]." },
        { "Coordinator:Rounds:Dimension", "0", "Coordinator:Rounds:Dimension: '0' is out of range: must be in [1, 100000000]." },
        { "Coordinator:Rounds:InitialModel", "\"mf:x\"", "Coordinator:Rounds:InitialModel: 'mf:x' must be zeros or mf:ITEMS:FACTORS[:MEAN]" },
        { "Coordinator:Rounds:InitialModel", "\"mf:10:2\"", "Coordinator:Rounds:Dimension: 4 does not fit InitialModel mf:10:2: it needs Dimension = 31" },
        { "Coordinator:Rounds:InitialModel", "\"ials:10:2\"", "Coordinator:Rounds:Dimension: 4 does not fit InitialModel ials:10:2: its updates have 44 values, so Dimension = 44" },
        { "Coordinator:Rounds:InitialModel", "\"ials:10\"", "Coordinator:Rounds:InitialModel: 'ials:10' must be one of bpr:ITEMS:K, ials:ITEMS:K[:LAMBDA]" },
        { "Coordinator:Rounds:InitialModel", "\"knn:10:20\"", "Coordinator:Rounds:InitialModel: 'knn:10:20': M (the Gram's candidate items) must be in 2..10 (found 20)." },
        { "Coordinator:Rounds:ModelRule", "\"Adam\"", "Coordinator:Rounds:ModelRule: 'Adam' is not allowed: use one of FedAvg, FedAdam." },
        { "Coordinator:Rounds:ServerLearningRate", "0", "Coordinator:Rounds:ServerLearningRate: '0' is out of range: must be in (0, 100]." },
        { "Coordinator:Rounds:Bits", "33", "Coordinator:Rounds:Bits: '33' is out of range: must be in [8, 32]." },
        { "Coordinator:Rounds:Clip", "0", "Coordinator:Rounds:Clip: '0' is out of range: must be > 0." },
        { "Coordinator:Rounds:Clip", "\"NaN\"", "Coordinator:Rounds:Clip: 'NaN' is out of range: must be > 0." },
        { "Coordinator:Rounds:TargetEpsilon", "-1", "Coordinator:Rounds:TargetEpsilon: '-1' is out of range: must be > 0." },
        { "Coordinator:Rounds:TargetEpsilon", "\"ten\"", "Coordinator:Rounds:TargetEpsilon: 'ten' is not a number (in coordinator.json)." },
        { "Coordinator:Rounds:Delta", "1", "Coordinator:Rounds:Delta: '1' is out of range: must be in (0, 1)." },
        { "Coordinator:Rounds:PlannedRounds", "0", "Coordinator:Rounds:PlannedRounds: '0' is out of range: must be in [1, 1000000]." },
        { "Coordinator:Rounds:ThreatMode", "\"Paranoid\"", "Coordinator:Rounds:ThreatMode: 'Paranoid' is not allowed: use one of HonestButCurious, Malicious." },
        { "Coordinator:Rounds:PhaseSeconds", "0", "Coordinator:Rounds:PhaseSeconds: '0' is out of range: must be in (0, 86400]." },
        { "Coordinator:Rounds:PhaseSecondsPerClient", "-1", "Coordinator:Rounds:PhaseSecondsPerClient: '-1' is out of range: must be in [0, 3600]." },
        { "Coordinator:Rounds:EarlyCloseIdleSeconds", "-1", "Coordinator:Rounds:EarlyCloseIdleSeconds: '-1' is out of range: must be in [0, 3600]." },
        { "Coordinator:Rounds:EarlyCloseIdleSeconds", "\"quick\"", "Coordinator:Rounds:EarlyCloseIdleSeconds: 'quick' is not a number (in coordinator.json)." },
        { "Coordinator:Rounds:ShareKeysSeconds", "0", "Coordinator:Rounds:ShareKeysSeconds: '0' is out of range: must be in (0, 86400]." },
        { "Coordinator:Rounds:UnmaskingSeconds", "\"soon\"", "Coordinator:Rounds:UnmaskingSeconds: 'soon' is not a number (in coordinator.json)." },
        { "Coordinator:Rounds:Graph", "\"Sparse\"", "Coordinator:Rounds:Graph: 'Sparse' is not allowed: use one of Auto, Full, Harary." },
        { "Coordinator:Rounds:HararyFromClients", "1", "Coordinator:Rounds:HararyFromClients: '1' is out of range: must be in [2, 1000000]." },
        { "Coordinator:Rounds:CollusionFraction", "1", "Coordinator:Rounds:CollusionFraction: '1' is out of range: must be in [0, 1)." },
        { "Coordinator:Rounds:DropoutFraction", "-0.1", "Coordinator:Rounds:DropoutFraction: '-0.1' is out of range: must be in [0, 1)." },
        { "Coordinator:Rounds:RecruitSeconds", "-1", "Coordinator:Rounds:RecruitSeconds: '-1' is out of range: must be in [0, 86400]." },
        { "Coordinator:Rounds:WaitingExpirySeconds", "0", "Coordinator:Rounds:WaitingExpirySeconds: '0' is out of range: must be in (0, 86400]." },
        { "Coordinator:Telemetry:OtlpEndpoint", "\"ftp://collector:4318\"", "Coordinator:Telemetry:OtlpEndpoint: 'ftp://collector:4318' is not an http:// or https:// address (e.g. http://127.0.0.1:4318)." },
        { "Coordinator:Telemetry:OtlpEndpoint", "\"collector\"", "Coordinator:Telemetry:OtlpEndpoint: 'collector' is not an http:// or https:// address" },
        { "Coordinator:Telemetry:OtlpProtocol", "\"udp\"", "Coordinator:Telemetry:OtlpProtocol: 'udp' is not allowed: use one of http/protobuf, grpc." },
        { "Coordinator:Telemetry:ServiceName", "\"\"", "Coordinator:Telemetry:ServiceName: is required (it is empty)." },
        { "Coordinator:Telemetry:OtlpEndpont", "\"http://c:4318\"", "Coordinator:Telemetry:OtlpEndpont is not a setting (in coordinator.json); did you mean Coordinator:Telemetry:OtlpEndpoint?" },
        { "Coordinator:Rounds:MaxRounds", "-1", "Coordinator:Rounds:MaxRounds: '-1' is out of range: must be ≥ 0." },
    };

    [Theory]
    [MemberData(nameof(BadCoordinatorValues))]
    public void A_bad_coordinator_value_is_one_problem_naming_its_setting(string key, string? raw, string expected)
    {
        string problem = Assert.Single(CoordinatorFails(key, raw).Problems);
        Assert.StartsWith(expected, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_postgres_connection_string_that_does_not_parse_is_refused()
    {
        using var dir = new TempDir();
        Dictionary<string, string> keys = ConfigFiles.Coordinator(dir);
        keys["Coordinator:StoreProvider"] = "\"postgres\"";
        keys["Coordinator:Store"] = "\"Hots=127.0.0.1\"";
        var ex = Assert.Throws<ConfigurationException>(() => CoordinatorConfiguration.Load(ConfigFiles.Write(dir, "c.json", keys)));
        Assert.StartsWith("Coordinator:Store: is not an Npgsql connection string", Assert.Single(ex.Problems), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        using var dir = new TempDir();
        Dictionary<string, string> keys = ConfigFiles.Coordinator(dir);
        keys["Coordinator:Port"] = "\"abc\"";
        keys["Coordinator:Rounds:Bits"] = "64";
        keys["Coordinator:Rounds:CohortSise"] = "5";
        keys["Coordinator:StoreProvider"] = "\"mysql\"";
        var ex = Assert.Throws<ConfigurationException>(() => CoordinatorConfiguration.Load(ConfigFiles.Write(dir, "c.json", keys)));
        Assert.Equal(4, ex.Problems.Count);
        Assert.Contains(ex.Problems, p => p.StartsWith("Coordinator:Port: 'abc'", StringComparison.Ordinal));
        Assert.Contains(ex.Problems, p => p.StartsWith("Coordinator:Rounds:Bits: '64'", StringComparison.Ordinal));
        Assert.Contains(ex.Problems, p => p.StartsWith("Coordinator:Rounds:CohortSise is not a setting", StringComparison.Ordinal));
        Assert.Contains(ex.Problems, p => p.StartsWith("Coordinator:StoreProvider: 'mysql'", StringComparison.Ordinal));
    }

    [Fact]
    public void Environment_variables_are_strict_too_and_named_as_such()
    {
        var env = new Dictionary<string, string?> { ["SECUREFEDREC_Coordinator__Rounds__CohortSise"] = "5" };
        ConfigurationException ex = CoordinatorFails("Coordinator:Port", "0", env);
        Assert.Equal(["Coordinator:Rounds:CohortSise is not a setting (environment variable SECUREFEDREC_Coordinator__Rounds__CohortSise); did you mean Coordinator:Rounds:CohortSize?"], ex.Problems);
    }

    [Fact]
    public void A_flat_prefixed_variable_is_not_a_setting_and_is_ignored_but_a_misspelt_section_is_not()
    {
        using var dir = new TempDir();
        string file = ConfigFiles.Write(dir, "coordinator.json", ConfigFiles.Coordinator(dir));
        var flat = new Dictionary<string, string?> { ["SECUREFEDREC_TEST_PG"] = "Host=x", ["SECUREFEDREC_TRACE"] = "1" };
        Assert.Equal(3, WithEnvironment(flat, () => CoordinatorConfiguration.Load(file)).Rounds.CohortSize);
        var section = new Dictionary<string, string?> { ["SECUREFEDREC_Coordinatr__Port"] = "1" };
        var ex = WithEnvironment(section, () => Assert.Throws<ConfigurationException>(() => CoordinatorConfiguration.Load(file)));
        Assert.Equal(["Coordinatr is not a setting (environment variable SECUREFEDREC_Coordinatr); did you mean Coordinator?"], ex.Problems);
    }

    [Fact]
    public void Environment_variables_override_the_file_and_are_validated()
    {
        var env = new Dictionary<string, string?> { ["SECUREFEDREC_Coordinator__Rounds__Bits"] = "x" };
        ConfigurationException ex = CoordinatorFails("Coordinator:Port", "0", env);
        Assert.Equal(["Coordinator:Rounds:Bits: 'x' is not a whole number (environment variable SECUREFEDREC_Coordinator__Rounds__Bits)."], ex.Problems);
    }

    [Fact]
    public void A_file_that_is_not_json_is_one_problem_naming_the_file()
    {
        using var dir = new TempDir();
        string file = dir.File("c.json", "{ \"Coordinator\": { \"Port\": 1, } ");
        var ex = Assert.Throws<ConfigurationException>(() => CoordinatorConfiguration.Load(file));
        Assert.Contains("c.json", Assert.Single(ex.Problems), StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_is_one_problem()
    {
        var ex = Assert.Throws<ConfigurationException>(() => CoordinatorConfiguration.Load("/nonexistent-sfr/c.json"));
        Assert.Equal(["The configuration file /nonexistent-sfr/c.json does not exist."], ex.Problems);
    }

    public static TheoryData<string, string?, string> BadClientValues => new()
    {
        { "Client:Coordinator", "\"ftp://x/\"", "Client:Coordinator: 'ftp://x/' is not an https:// address" },
        { "Client:Coordinator", "\"\"", "Client:Coordinator: is required (it is empty)." },
        { "Client:IdentityKeyPath", "\"nobody.key\"", "Client:IdentityKeyPath: file " },
        { "Client:TrustedCertificatePath", "\"nobody.crt\"", "Client:TrustedCertificatePath: file " },
        { "Client:LedgerPath", "\"/nonexistent-sfr/b.ledger\"", "Client:LedgerPath: folder /nonexistent-sfr (which would hold b.ledger) does not exist." },
        { "Client:DisplayName", "\"" + new string('x', 129) + "\"", "Client:DisplayName: is longer than 128 UTF-8 bytes." },
        { "Client:DataPath", "\"nothing.json\"", "Client:DataPath: file " },
        { "Client:MaxTotalEpsilon", "0.5", "Client:MaxTotalEpsilon is not a setting (in client.json); did you mean Client:Policy:MaxTotalEpsilon?" },
        { "Client:Policy", "10", "Client:Policy: is a section (keys MaxTotalEpsilon, Delta, MinNoiseMultiplier, MaxClip, MinThresholdFraction, AllowHonestButCurious, MinCohortSize, MinThreshold, MinDistinctOrganisations, MaxAbortedRounds, AbortWindowHours), not a single value (in client.json)." },
        { "Client:Policy:MaxTotalEpsilon", "0", "Client:Policy:MaxTotalEpsilon: '0' is out of range: must be > 0." },
        { "Client:Policy:MaxTotalEpsilon", "\"abc\"", "Client:Policy:MaxTotalEpsilon: 'abc' is not a number (in client.json)." },
        { "Client:Policy:MaxTotalEpsilon", "\"Infinity\"", "Client:Policy:MaxTotalEpsilon: 'Infinity' is out of range: must be > 0." },
        { "Client:Policy:Delta", "0", "Client:Policy:Delta: '0' is out of range: must be in (0, 1)." },
        { "Client:Policy:MinNoiseMultiplier", "-1", "Client:Policy:MinNoiseMultiplier: '-1' is out of range: must be in [0, 1000000]." },
        { "Client:Policy:MinThreshold", "1", "Client:Policy:MinThreshold: '1' is out of range: must be in [2, 1000000]." },
        { "Client:Policy:MinDistinctOrganisations", "0", "Client:Policy:MinDistinctOrganisations: '0' is out of range: must be in [1, 1000000]." },
        { "Client:Policy:AbortWindowHours", "0", "Client:Policy:AbortWindowHours: '0' is out of range: must be in (0, 8760]." },
        { "Client:Policy:AllowHonestButCurious", "\"maybe\"", "Client:Policy:AllowHonestButCurious: 'maybe' is not " },
        { "Client:Policy:MaxClip", "0", "Client:Policy:MaxClip: '0' is out of range: must be > 0." },
        { "Client:Policy:MinThresholdFraction", "0", "Client:Policy:MinThresholdFraction: '0' is out of range: must be in (0, 1]." },
        { "Client:Patience:TotalSeconds", "-1", "Client:Patience:TotalSeconds: '-1' is out of range: must be in [0, 31536000]." },
        { "Client:Patience:TotalSeconds", "\"soon\"", "Client:Patience:TotalSeconds: 'soon' is not a number (in client.json)." },
        { "Client:Patience:InitialBackoffSeconds", "0", "Client:Patience:InitialBackoffSeconds: '0' is out of range: must be in [0.001, 3600]." },
        { "Client:Patience:MaxBackoffSeconds", "0.1", "Client:Patience:MaxBackoffSeconds: is 0.1 s, less than InitialBackoffSeconds (0.2 s)." },
        { "Client:Patience:MaxBackoffSeconds", "7200", "Client:Patience:MaxBackoffSeconds: '7200' is out of range: must be in [0.001, 3600]." },
        { "Client:Patience:ProgressSeconds", "-5", "Client:Patience:ProgressSeconds: '-5' is out of range: must be in [0, 86400]." },
        { "Client:Patience:JoinSeconds", "0", "Client:Patience:JoinSeconds: '0' is out of range: must be in [1, 31536000]." },
        { "Client:Patience:CallSeconds", "0", "Client:Patience:CallSeconds: '0' is out of range: must be in [0.1, 3600]." },
        { "Client:Patience:TotalSecond", "5", "Client:Patience:TotalSecond is not a setting (in client.json); did you mean Client:Patience:TotalSeconds?" },
        { "Client:Recommender:Factors", "0", "Client:Recommender:Factors: '0' is out of range: must be in [1, 1024]." },
        { "Client:Recommender:LocalEpochs", "0", "Client:Recommender:LocalEpochs: '0' is out of range: must be in [1, 10000]." },
        { "Client:Recommender:LearningRate", "0", "Client:Recommender:LearningRate: '0' is out of range: must be in (0, 10]." },
        { "Client:Recommender:Regularization", "-0.1", "Client:Recommender:Regularization: '-0.1' is out of range: must be in [0, 100]." },
        { "Client:Recommender:HoldOutFraction", "1", "Client:Recommender:HoldOutFraction: '1' is out of range: must be in [0, 1)." },
        { "Client:Recommender:Seed", "-1", "Client:Recommender:Seed: '-1' is not a whole number ≥ 0 (in client.json)." },
        { "Client:Recommender:Items", "\"many\"", "Client:Recommender:Items: 'many' is not a whole number (in client.json)." },
        { "Client:Recommender:Ratings", "\"none.csv\"", "Client:Recommender:Ratings: file " },
        { "Client:Recommender:Ratnigs", "\"r.csv\"", "Client:Recommender:Ratnigs is not a setting (in client.json); did you mean Client:Recommender:Ratings?" },
        { "Client:Recommender:Model", "\"svd\"", "Client:Recommender:Model: 'svd' is not allowed: use one of mf, bpr, ials, neural, knn." },
        { "Client:Recommender:Hidden", "0", "Client:Recommender:Hidden: '0' is out of range: must be in [1, 4096]." },
        { "Client:Recommender:Candidates", "1", "Client:Recommender:Candidates: '1' is out of range: must be in [2, 2000]." },
        { "Client:Recommender:LocalWeight", "-1", "Client:Recommender:LocalWeight: '-1' is out of range: must be in [0, 1000]." },
        { "Client:Recommender:Alpha", "0", "Client:Recommender:Alpha: '0' is out of range: must be in (0, 10000]." },
        { "Client:Recommender:Lambda", "-1", "Client:Recommender:Lambda: '-1' is out of range: must be in (0, 100000]." },
        { "Client:Recommender:TopN", "0", "Client:Recommender:TopN: '0' is out of range: must be in [1, 1000]." },
        { "Client:Recommender:Threshold", "\"high\"", "Client:Recommender:Threshold: 'high' is not a number (in client.json)." },
    };

    [Theory]
    [MemberData(nameof(BadClientValues))]
    public void A_bad_client_value_is_one_problem_naming_its_setting(string key, string? raw, string expected)
    {
        string problem = Assert.Single(ClientFails(key, raw).Problems);
        Assert.StartsWith(expected, problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, -1.0)]
    [InlineData("0", -1.0)]
    [InlineData("45", 45.0)]
    public void The_patience_section_reaches_the_sdk_options(string? totalSeconds, double expectedSeconds)
    {
        using var dir = new TempDir();
        Dictionary<string, string> keys = ConfigFiles.Client(dir);
        if (totalSeconds is not null)
        {
            keys["Client:Patience:TotalSeconds"] = totalSeconds;
        }

        File.Delete(dir["id.key"]);
        using (var identity = SecureFedRec.Wire.Auth.ClientIdentity.Generate())
        {
            identity.WriteKeyFile(dir["id.key"]);
        }

        keys.Remove("Client:TrustedCertificatePath");
        keys["Client:Patience:MaxBackoffSeconds"] = "20";
        keys["Client:Patience:JoinSeconds"] = "90";
        FederationClientOptions options = ClientSettings.Load(ConfigFiles.Write(dir, "client.json", keys)).ToOptions();
        using (options.Identity)
        {
            Assert.Equal(expectedSeconds < 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(expectedSeconds), options.Patience);
            Assert.Equal(0, options.MaxAttempts);
            Assert.Equal(TimeSpan.FromSeconds(20), options.MaxBackoff);
            Assert.Equal(TimeSpan.FromMilliseconds(200), options.InitialBackoff);
            Assert.Equal(TimeSpan.FromSeconds(90), options.JoinTimeout);
            Assert.Equal(TimeSpan.FromSeconds(30), options.ProgressInterval);
            Assert.Equal(TimeSpan.FromSeconds(15), options.CallTimeout);
        }
    }

    /// <summary>The recommender's cross-setting rules (a data file is set, so the section is in use).</summary>
    [Theory]
    [InlineData("ials", "e.csv", "r.csv", 10, 500, "Client:Recommender:Events: cannot be combined with Ratings")]
    [InlineData("mf", "e.csv", null, 10, 500, "Client:Recommender:Events: needs a ranking Model (bpr, ials, neural or knn)")]
    [InlineData("knn", "e.csv", null, 10, 20, "Client:Recommender:Candidates: 20 exceeds Items 10")]
    [InlineData("ials", "e.csv", null, 1, 500, "Client:Recommender:Items: 1 is out of range: the shared item space needs Items ≥ 2")]
    [InlineData("ials", "none.csv", null, 10, 500, "Client:Recommender:Events: file ")]
    public void A_ranking_recommender_setting_that_breaks_a_rule_is_named(string model, string events, string? ratings, int items, int candidates, string expected)
    {
        using var dir = new TempDir();
        Dictionary<string, string> keys = ConfigFiles.Client(dir);
        dir.File("e.csv", "user,item,kind\n0,1,view\n");
        dir.File("r.csv", "userId,movieId,rating,timestamp\n0,1,5,1\n");
        keys["Client:Recommender:Model"] = "\"" + model + "\"";
        keys["Client:Recommender:Events"] = "\"" + events + "\"";
        if (ratings is not null)
        {
            keys["Client:Recommender:Ratings"] = "\"" + ratings + "\"";
        }

        keys["Client:Recommender:Items"] = items.ToString(System.Globalization.CultureInfo.InvariantCulture);
        keys["Client:Recommender:Candidates"] = candidates.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var ex = Assert.Throws<ConfigurationException>(() => ClientSettings.Load(ConfigFiles.Write(dir, "client.json", keys)));
        Assert.StartsWith(expected, Assert.Single(ex.Problems), StringComparison.Ordinal);
    }

    [Fact]
    public void Recommender_mode_needs_items()
    {
        using var dir = new TempDir();
        Dictionary<string, string> keys = ConfigFiles.Client(dir);
        dir.File("r.csv", "userId,movieId,rating,timestamp\n");
        keys["Client:Recommender:Ratings"] = "\"r.csv\"";
        var ex = Assert.Throws<ConfigurationException>(() => ClientSettings.Load(ConfigFiles.Write(dir, "client.json", keys)));
        Assert.StartsWith("Client:Recommender:Items: 0 is out of range", Assert.Single(ex.Problems), StringComparison.Ordinal);
    }

    [Fact]
    public void The_options_pattern_validates_on_start_with_every_problem()
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Client:Coordinator"] = "https://127.0.0.1:7443/",
            ["Client:IdentityKeyPath"] = "",
            ["Client:Policy:MaxTotalEpsilonn"] = "0.5",
            ["Client:Policy:Delta"] = "2",
        }).Build();
        var services = new ServiceCollection();
        services.AddOptions<ClientSettings>().BindStrictly(configuration, "Client").ValidateOnStart();
        using ServiceProvider provider = services.BuildServiceProvider();
        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains("Client:Policy:MaxTotalEpsilonn is not a setting (command-line option); did you mean Client:Policy:MaxTotalEpsilon?", ex.Failures);
        Assert.Contains("Client:IdentityKeyPath: is required (it is empty).", ex.Failures);
        Assert.Contains("Client:Policy:Delta: '2' is out of range: must be in (0, 1).", ex.Failures);
    }

    [Fact]
    public void Options_built_in_code_are_validated_with_every_problem()
    {
        var options = new CoordinatorOptions { InsecureDev = true, Port = -5 };
        options.Rounds.Bits = 2;
        options.Rounds.MinClients = 50;
        var ex = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Equal(
            ["Coordinator:Port: '-5' is out of range: must be in [0, 65535].", "Coordinator:Rounds:Bits: '2' is out of range: must be in [8, 32].", "Coordinator:Rounds:MinClients: 50 exceeds CohortSize 10 (a round never has more than CohortSize clients)."],
            ex.Message.Split(Environment.NewLine));
    }

    [Theory]
    [InlineData("MaxTotalEpsilonn", true)]
    [InlineData("maxtotalepsilon", true)]
    [InlineData("MaxTotalEpsilo", true)]
    [InlineData("MaxTotal", true)]
    [InlineData("Epsilon", false)]
    [InlineData("Max", false)]
    public void Nearest_key_within_the_edit_distance_or_by_prefix(string unknown, bool suggested)
    {
        string? nearest = StrictSettings.Nearest("Client:Policy:" + unknown, unknown, ["Client:Policy:MaxTotalEpsilon", "Client:Policy:Delta", "Client:LedgerPath"]);
        Assert.Equal(suggested ? "Client:Policy:MaxTotalEpsilon" : null, nearest);
    }

    [Fact]
    public void Nothing_close_means_no_suggestion()
    {
        Assert.Null(StrictSettings.Nearest("Client:Zebra", "Zebra", ["Client:Coordinator", "Client:LedgerPath"]));
    }
}
