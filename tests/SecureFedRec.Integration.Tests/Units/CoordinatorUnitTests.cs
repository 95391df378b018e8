using SecureFedRec.Client;
using SecureFedRec.Coordinator;
using SecureFedRec.Crypto;
using SecureFedRec.Privacy;
using SecureFedRec.Wire;
using SecureFedRec.Wire.Auth;
using SecureFedRec.Wire.V1;
using SecureFedRec.Wire.Client;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Integration.Tests.Units;

public class AllowListTests
{
    private static string KeyHex(Crypto.IdentitySuite suite = Crypto.IdentitySuite.EcdsaP256Sha256)
    {
        using var id = ClientIdentity.Generate(suite);
        return Convert.ToHexString(id.PublicKey);
    }

    [Theory]
    [InlineData(Crypto.IdentitySuite.EcdsaP256Sha256)]
    [InlineData(Crypto.IdentitySuite.Ed25519)]
    public void Entries_load_from_inline_lines_with_names_and_comments(Crypto.IdentitySuite suite)
    {
        string hex = KeyHex(suite);
        AllowList list = AllowList.Load(null, ["# comment", "", hex + " bank one"]);
        string id = RequestSignature.ClientIdOf(Convert.FromHexString(hex));
        Assert.Equal(1, list.Count);
        Assert.Equal("bank one", list.NameOf(id));
        Assert.Equal(Convert.FromHexString(hex), list.Find(id));
        Assert.Null(list.Find(new string('0', 64)));
    }

    [Theory]
    [InlineData("zz")]
    [InlineData("04")]
    [InlineData("05AABB")]
    public void Malformed_entries_are_refused_with_their_position(string line)
    {
        var ex = Assert.Throws<FormatException>(() => AllowList.Load(null, [line]));
        Assert.StartsWith("AllowList[0]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_compressed_or_wrong_prefix_key_is_refused()
    {
        string hex = KeyHex();
        Assert.Throws<FormatException>(() => AllowList.Load(null, ["02" + hex[2..]]));
    }
}

public class CoordinatorOptionsTests
{
    private static CoordinatorOptions Valid() => new() { InsecureDev = true };

    [Fact]
    public void Defaults_with_insecure_dev_validate() => Valid().Validate();

    [Fact]
    public void Malicious_mode_is_the_default_and_honest_but_curious_needs_the_explicit_opt_in()
    {
        CoordinatorOptions o = Valid();
        Assert.Equal("Malicious", o.Rounds.ThreatMode);
        o.Rounds.ThreatMode = "HonestButCurious";
        var ex = Assert.Throws<ArgumentException>(o.Validate);
        Assert.Contains("AllowHonestButCurious", ex.Message, StringComparison.Ordinal);
        o.Rounds.AllowHonestButCurious = true;
        o.Validate();
    }

    [Fact]
    public void Tls_is_required_unless_insecure_dev()
    {
        var ex = Assert.Throws<ArgumentException>(() => new CoordinatorOptions().Validate());
        Assert.Contains("TLS", ex.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string> Invalid => new()
    {
        "port", "provider", "window", "size", "cohort", "min", "fraction", "bits", "delta", "mode", "phase", "hbc-without-opt-in",
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Invalid_settings_are_refused(string which)
    {
        CoordinatorOptions o = Valid();
        switch (which)
        {
            case "port": o.Port = 70000; break;
            case "provider": o.StoreProvider = "mysql"; break;
            case "window": o.AuthWindowSeconds = 0; break;
            case "size": o.MaxMessageBytes = 10; break;
            case "cohort": o.Rounds.CohortSize = 1; break;
            case "min": o.Rounds.MinClients = o.Rounds.CohortSize + 1; break;
            case "fraction": o.Rounds.ThresholdFraction = 0; break;
            case "bits": o.Rounds.Bits = 33; break;
            case "delta": o.Rounds.Delta = 1; break;
            case "mode": o.Rounds.ThreatMode = "Paranoid"; break;
            case "hbc-without-opt-in": o.Rounds.ThreatMode = "HonestButCurious"; break;
            default: o.Rounds.PhaseSeconds = 0; break;
        }

        Assert.Throws<ArgumentException>(o.Validate);
    }

    [Theory]
    [InlineData("HonestButCurious", 10, 6)]
    [InlineData("HonestButCurious", 3, 2)]
    [InlineData("Malicious", 10, 6)]
    [InlineData("Malicious", 4, 3)]
    public void Thresholds_follow_the_fraction_and_the_malicious_majority(string mode, int cohort, int expected)
    {
        var rounds = new RoundOptions { ThreatMode = mode, ThresholdFraction = 0.5 };
        if (mode == "HonestButCurious" && cohort == 10)
        {
            rounds.ThresholdFraction = 0.6;
        }

        Assert.Equal(expected, rounds.Threshold(cohort));
    }
}

public class MetricsTests
{
    [Fact]
    public void Rendering_follows_the_prometheus_text_format()
    {
        var m = new CoordinatorMetrics();
        m.RoundFinished("completed");
        m.RoundFinished("completed");
        m.ClientDropped("DeadlineMissed");
        m.PhaseDuration("ShareKeys", 0.07);
        m.EpsilonSpent(1.25);
        string text = m.Render();
        Assert.Contains("# TYPE securefedrec_rounds_total counter\n", text, StringComparison.Ordinal);
        Assert.Contains("securefedrec_rounds_total{outcome=\"completed\"} 2\n", text, StringComparison.Ordinal);
        Assert.Contains("securefedrec_client_drops_total{reason=\"DeadlineMissed\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("securefedrec_phase_duration_seconds_bucket{phase=\"ShareKeys\",le=\"0.05\"} 0\n", text, StringComparison.Ordinal);
        Assert.Contains("securefedrec_phase_duration_seconds_bucket{phase=\"ShareKeys\",le=\"0.1\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("securefedrec_phase_duration_seconds_bucket{phase=\"ShareKeys\",le=\"+Inf\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("securefedrec_epsilon_spent 1.25\n", text, StringComparison.Ordinal);
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("a\"b", "a\\\"b")]
    [InlineData("a\\b", "a\\\\b")]
    [InlineData("a\nb", "a\\nb")]
    public void Label_values_are_escaped(string value, string expected) =>
        Assert.Equal(expected, CoordinatorMetrics.Escape(value));
}

public class BackoffTests
{
    [Theory]
    [InlineData(1, 100, 200)]
    [InlineData(2, 200, 400)]
    [InlineData(3, 400, 800)]
    [InlineData(10, 2500, 5000)]
    public void Delays_grow_exponentially_with_jitter_and_a_cap(int attempt, int minMs, int maxMs)
    {
        var rng = new DeterministicRandomSource(new byte[32]);
        for (int i = 0; i < 200; i++)
        {
            TimeSpan d = Backoff.Delay(attempt, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(5), rng);
            Assert.InRange(d.TotalMilliseconds, minMs, maxMs);
        }
    }

    [Fact]
    public void Jitter_actually_varies()
    {
        var rng = new DeterministicRandomSource(new byte[32]);
        var delays = Enumerable.Range(0, 50).Select(_ => Backoff.Delay(3, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(5), rng)).Distinct().Count();
        Assert.True(delays > 10);
    }
}

public class RoundCodecTests
{
    [Fact]
    public void Models_round_trip()
    {
        double[] model = [0, -1.5, 3.25, double.Epsilon];
        Assert.Equal(model, RoundCodec.DecodeModel(RoundCodec.EncodeModel(model)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("000000")]
    [InlineData("00000001")]
    [InlineData("000000010000000000000000FF")]
    [InlineData("00000001000000000000F87F")]
    public void Malformed_models_are_refused(string hex) =>
        Assert.Throws<FormatException>(() => RoundCodec.DecodeModel(Convert.FromHexString(hex)));

    private static MechanismParameters Parameters() => new()
    {
        Dimension = 8,
        Bits = 20,
        Clip = 1,
        Gamma = 0.01,
        Beta = Math.Exp(-0.5),
        SigmaSquaredNumerator = 4,
        SigmaSquaredDenominator = 1,
        PlannedClients = 10,
        MinClients = 6,
        Delta = 1e-5,
    };

    [Fact]
    public void Dp_parameters_round_trip_through_the_wire()
    {
        MechanismParameters p = Parameters();
        Assert.Equal(p, RoundCodec.FromWire(RoundCodec.ToWire(p, 0.5)));
    }

    [Fact]
    public void Invalid_dp_parameters_are_refused()
    {
        DpParameters wire = RoundCodec.ToWire(Parameters(), 0.5);
        wire.Delta = 2;
        Assert.Throws<FormatException>(() => RoundCodec.FromWire(wire));
    }

    [Theory]
    [InlineData(Rounds.PrivacyUnit.Institution, Rounds.UpdateEncoding.DistributedDiscreteGaussian)]
    [InlineData(Rounds.PrivacyUnit.User, Rounds.UpdateEncoding.DistributedDiscreteGaussian)]
    [InlineData(Rounds.PrivacyUnit.Institution, Rounds.UpdateEncoding.FixedPointNoDp)]
    public void The_round_contract_survives_the_wire_and_keeps_its_binding(Rounds.PrivacyUnit unit, Rounds.UpdateEncoding encoding)
    {
        var contract = new Rounds.RoundContract(7, 3, ThreatMode.HonestButCurious, Parameters())
        {
            Privacy = unit,
            Encoding = encoding,
            ClaimedEpsilon = 0.75,
            UserClip = 0.25,
            MaxUsersPerClient = unit == Rounds.PrivacyUnit.User ? 12 : 1,
            FixedPointBounds = encoding == Rounds.UpdateEncoding.FixedPointNoDp ? [1.5, 2.5] : [],
        };
        RoundInfo wire = RoundInfo.Parser.ParseFrom(Google.Protobuf.MessageExtensions.ToByteArray(RoundCodec.ToWire(contract, 4)));
        Rounds.RoundContract back = RoundCodec.FromWire(wire);
        Assert.Equal(4u, wire.ClientNumber);
        Assert.Equal(contract.Binding(), back.Binding());
        Assert.NotEqual(contract.Binding(), (back with { ClaimedEpsilon = 0.5 }).Binding());
    }

    [Fact]
    public void The_cohort_travels_in_round_info_and_stays_bound()
    {
        var contract = new Rounds.RoundContract(7, 3, ThreatMode.Malicious, Parameters())
        {
            UserClip = 1,
            Cohort = [new Rounds.CohortEntry(1, "bank-a", "c1"), new Rounds.CohortEntry(2, "bank-b", "c1"), new Rounds.CohortEntry(5, "clinic-ü", "c7")],
        };
        RoundInfo wire = RoundInfo.Parser.ParseFrom(Google.Protobuf.MessageExtensions.ToByteArray(RoundCodec.ToWire(contract, 2)));
        Rounds.RoundContract back = RoundCodec.FromWire(wire);
        Assert.Equal(contract.Cohort, back.Cohort);
        Assert.Equal(contract.Binding(), back.Binding());
        wire.Cohort[2].ClientId = "c8";
        Assert.NotEqual(contract.Binding(), RoundCodec.FromWire(wire).Binding());
        wire.Cohort[2].ClientNumber = 0;
        Assert.Throws<FormatException>(() => RoundCodec.FromWire(wire));
    }

    [Theory]
    [InlineData("privacy_unit")]
    [InlineData("encoding")]
    [InlineData("max_users_per_client")]
    [InlineData("user_clip")]
    [InlineData("dp")]
    public void A_round_info_with_a_bad_field_is_refused(string field)
    {
        RoundInfo wire = RoundCodec.ToWire(new Rounds.RoundContract(7, 3, ThreatMode.HonestButCurious, Parameters()) { UserClip = 1 }, 1);
        switch (field)
        {
            case "privacy_unit": wire.PrivacyUnit = SecureFedRec.Wire.V1.PrivacyUnit.Unspecified; break;
            case "encoding": wire.Encoding = (SecureFedRec.Wire.V1.UpdateEncoding)99; break;
            case "max_users_per_client": wire.MaxUsersPerClient = 0; break;
            case "user_clip": wire.UserClip = double.NaN; break;
            default: wire.Dp = null; break;
        }

        Assert.Throws<FormatException>(() => RoundCodec.FromWire(wire));
    }
}
