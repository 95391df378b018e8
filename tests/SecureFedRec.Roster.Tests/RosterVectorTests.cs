using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SecureFedRec.Crypto;

namespace SecureFedRec.Roster.Tests;

/// <summary>
/// protocol-spec/vectors/roster/roster.json: generated here from fixed keys (Ed25519 and RFC 6979 ECDSA are
/// deterministic, so the file is stable), and replayed from the file alone. Regenerate with
/// <c>SFR_WRITE_VECTORS=1 dotnet test tests/SecureFedRec.Roster.Tests --filter RosterVectorTests</c>.
/// </summary>
public sealed class RosterVectorTests
{
    private static string VectorPath()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "protocol-spec", "vectors");
            if (Directory.Exists(candidate))
            {
                return Path.Combine(candidate, "roster", "roster.json");
            }
        }

        throw new DirectoryNotFoundException("protocol-spec/vectors not found above the test binaries.");
    }

    private static string Pin(IdentitySuite suite)
    {
        using IdentitySigningKey key = Fixture.Authority(suite);
        return IdentitySignature.NameOf(suite) + ":" + Convert.ToHexStringLower(key.PublicKey);
    }

    private static JsonObject Key(string name, IdentitySuite suite, string secret) => new()
    {
        ["name"] = name,
        ["suite"] = IdentitySignature.NameOf(suite),
        ["privateKey"] = secret,
        ["publicKey"] = Convert.ToHexStringLower(Fixture.PublicKey(suite, secret)),
    };

    internal static string Generate()
    {
        var vectors = new JsonArray();
        string lastSeen = $"{RosterVerifierTests.LastSeen.Version}:{RosterVerifierTests.LastSeen.Digest}";
        foreach (IdentitySuite suite in new[] { IdentitySuite.Ed25519, IdentitySuite.EcdsaP256Sha256 })
        {
            RosterContent content = Fixture.Content(suite);
            byte[] file = Fixture.Signed(content);
            RosterFile.TryParse(file, out RosterDocument? doc);
            vectors.Add(new JsonObject
            {
                ["name"] = "valid roster, " + IdentitySignature.NameOf(suite) + " authority",
                ["kind"] = "roster-verify",
                ["input"] = new JsonObject { ["roster"] = Encoding.UTF8.GetString(file), ["authority"] = Pin(suite), ["now"] = RosterFile.FormatTime(Fixture.Now), ["lastSeen"] = null },
                ["output"] = new JsonObject
                {
                    ["refusal"] = nameof(RosterRefusal.None),
                    ["encoding"] = Convert.ToHexStringLower(RosterEncoding.Encode(content)),
                    ["digest"] = RosterEncoding.Digest(content),
                    ["signature"] = Convert.ToHexStringLower(doc!.Signature.Span),
                },
            });
        }

        foreach ((string name, (Func<byte[]> file, RosterRefusal expected)) in RosterVerifierTests.Cases)
        {
            vectors.Add(new JsonObject
            {
                ["name"] = name,
                ["kind"] = "roster-verify",
                ["input"] = new JsonObject { ["roster"] = Encoding.UTF8.GetString(file()), ["authority"] = Pin(IdentitySuite.Ed25519), ["now"] = RosterFile.FormatTime(Fixture.Now), ["lastSeen"] = lastSeen },
                ["output"] = new JsonObject { ["refusal"] = expected.ToString() },
            });
        }

        string good = Encoding.UTF8.GetString(RosterVerifierTests.Good);
        (string Name, string Member, string Presented, RosterRefusal Expected)[] members =
        [
            ("member listed with its key", "bank-a/client-1", Convert.ToHexStringLower(Fixture.PublicKey(IdentitySuite.Ed25519, Fixture.MemberKeys[0].Secret)), RosterRefusal.None),
            ("member not in the roster", "bank-a/client-9", "", RosterRefusal.NotInRoster),
            ("member revoked", "hospital-b/c0", "", RosterRefusal.Revoked),
            ("member presented with another member's key", "bank-a/client-1", Convert.ToHexStringLower(Fixture.PublicKey(IdentitySuite.Ed25519, Fixture.MemberKeys[1].Secret)), RosterRefusal.KeyMismatch),
        ];
        RosterContent windows = Fixture.Content() with
        {
            Members =
            [
                Fixture.Member(0) with { NotAfter = Fixture.Now },
                Fixture.Member(1) with { NotBefore = Fixture.Now.AddSeconds(1) },
                Fixture.Member(2),
                Fixture.Member(3),
            ],
        };
        string windowed = Encoding.UTF8.GetString(Fixture.Signed(windows));
        members =
        [
            .. members,
            ("member whose validity ended at now", "bank-a/client-1", "", RosterRefusal.MemberExpired),
            ("member valid from one second after now", "bank-a/client-2", "", RosterRefusal.MemberNotYetValid),
        ];
        foreach ((string name, string member, string presented, RosterRefusal expected) in members)
        {
            vectors.Add(new JsonObject
            {
                ["name"] = name,
                ["kind"] = "member-check",
                ["input"] = new JsonObject { ["roster"] = expected is RosterRefusal.MemberExpired or RosterRefusal.MemberNotYetValid ? windowed : good, ["authority"] = Pin(IdentitySuite.Ed25519), ["now"] = RosterFile.FormatTime(Fixture.Now), ["member"] = member, ["presentedKey"] = presented },
                ["output"] = new JsonObject { ["refusal"] = expected.ToString() },
            });
        }

        (string Name, string[] Cohort, int Min, RosterRefusal Expected)[] cohorts =
        [
            ("cohort of three organisations", ["bank-a/client-1", "hospital-b/c1", "insurer-c/c1"], 3, RosterRefusal.None),
            ("cohort of one organisation's clients", ["bank-a/client-1", "bank-a/client-2"], 2, RosterRefusal.TooFewOrganisations),
            ("cohort naming a member twice", ["bank-a/client-1", "hospital-b/c1", "bank-a/client-1"], 2, RosterRefusal.DuplicateCohortMember),
            ("cohort with a made-up member", ["bank-a/client-1", "coordinator/sim-1"], 1, RosterRefusal.NotInRoster),
            ("empty cohort", [], 1, RosterRefusal.EmptyCohort),
        ];
        foreach ((string name, string[] cohort, int min, RosterRefusal expected) in cohorts)
        {
            vectors.Add(new JsonObject
            {
                ["name"] = name,
                ["kind"] = "cohort-check",
                ["input"] = new JsonObject { ["roster"] = good, ["authority"] = Pin(IdentitySuite.Ed25519), ["now"] = RosterFile.FormatTime(Fixture.Now), ["cohort"] = new JsonArray([.. cohort.Select(c => (JsonNode)c)]), ["minOrganisations"] = min },
                ["output"] = new JsonObject { ["refusal"] = expected.ToString() },
            });
        }

        var root = new JsonObject
        {
            ["description"] = "Signed rosters and the refusal a verifier must return for each (protocol-spec/roster.md). Replay: verify input.roster (UTF-8 bytes of the string) against the pinned input.authority at input.now with input.lastSeen (VERSION:DIGEST or null); member-check and cohort-check first verify the roster, then check the member / cohort. The private keys are published so that an implementation can re-sign and compare signatures (Ed25519 and RFC 6979 ECDSA are deterministic).",
            ["reference"] = "protocol-spec/roster.md; RFC 8032 (Ed25519); FIPS 186-4 + RFC 6979 (ECDSA P-256/SHA-256)",
            ["keys"] = new JsonArray(
            [
                Key("authority (ed25519)", IdentitySuite.Ed25519, Fixture.AuthoritySeed),
                Key("authority (ecdsa-p256-sha256)", IdentitySuite.EcdsaP256Sha256, Fixture.P256AuthorityScalar),
                Key("another authority", IdentitySuite.Ed25519, Fixture.OtherAuthoritySeed),
                .. Fixture.MemberKeys.Select(m => Key(m.Org + "/" + m.Client, m.Suite, m.Secret)),
                Key(Fixture.RevokedKey.Org + "/" + Fixture.RevokedKey.Client + " (revoked)", Fixture.RevokedKey.Suite, Fixture.RevokedKey.Secret),
            ]),
            ["vectors"] = vectors,
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";
    }

    /// <summary>Replays one vector from its JSON alone; returns null when it matches, else what differed.</summary>
    internal static string? Replay(JsonNode vector)
    {
        JsonNode input = vector["input"]!;
        string[] pin = input["authority"]!.GetValue<string>().Split(':');
        Assert.True(IdentitySignature.TryParse(pin[0], out IdentitySuite suite));
        var verifier = new RosterVerifier(suite, Convert.FromHexString(pin[1]));
        Assert.True(RosterFile.TryParseTime(input["now"]!.GetValue<string>(), out DateTimeOffset now));
        RosterCheckpoint? lastSeen = null;
        if (input["lastSeen"] is JsonNode seen)
        {
            string[] parts = seen.GetValue<string>().Split(':');
            lastSeen = new RosterCheckpoint(ulong.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), parts[1]);
        }

        RosterVerification verification = verifier.Verify(Encoding.UTF8.GetBytes(input["roster"]!.GetValue<string>()), now, lastSeen);
        JsonNode output = vector["output"]!;
        string expected = output["refusal"]!.GetValue<string>();
        string kind = vector["kind"]!.GetValue<string>();
        RosterRefusal actual;
        if (kind == "roster-verify")
        {
            actual = verification.Check.Refusal;
            if (actual == RosterRefusal.None && output["digest"] is JsonNode digest)
            {
                RosterContent content = verification.Roster!.Content;
                if (Convert.ToHexStringLower(RosterEncoding.Encode(content)) != output["encoding"]!.GetValue<string>())
                {
                    return "encoding differs";
                }

                if (verification.Roster.Digest != digest.GetValue<string>())
                {
                    return "digest differs";
                }

                RosterFile.TryParse(Encoding.UTF8.GetBytes(input["roster"]!.GetValue<string>()), out RosterDocument? doc);
                if (Convert.ToHexStringLower(doc!.Signature.Span) != output["signature"]!.GetValue<string>())
                {
                    return "signature differs";
                }
            }
        }
        else
        {
            if (!verification.Check.Passed)
            {
                return "the roster of a " + kind + " vector was refused: " + verification.Check;
            }

            VerifiedRoster roster = verification.Roster!;
            if (kind == "member-check")
            {
                string[] m = input["member"]!.GetValue<string>().Split('/');
                actual = roster.CheckMember(m[0], m[1], now, Convert.FromHexString(input["presentedKey"]!.GetValue<string>()), out _).Refusal;
            }
            else
            {
                CohortMember[] cohort = [.. input["cohort"]!.AsArray().Select(c => c!.GetValue<string>().Split('/')).Select(p => new CohortMember(p[0], p[1]))];
                actual = new CohortPolicy(input["minOrganisations"]!.GetValue<int>()).Check(roster, cohort, now).Check.Refusal;
            }
        }

        return actual.ToString() == expected ? null : $"expected {expected}, got {actual}";
    }

    public static TheoryData<string> PublishedVectors()
    {
        var data = new TheoryData<string>();
        if (File.Exists(VectorPath()))
        {
            foreach (JsonNode? v in JsonNode.Parse(File.ReadAllText(VectorPath()))!["vectors"]!.AsArray())
            {
                data.Add(v!["name"]!.GetValue<string>());
            }
        }

        return data;
    }

    private static JsonNode Load(string name) =>
        JsonNode.Parse(File.ReadAllText(VectorPath()))!["vectors"]!.AsArray().Single(v => v!["name"]!.GetValue<string>() == name)!;

    [Fact]
    public void The_published_file_is_what_the_fixed_keys_generate()
    {
        string generated = Generate();
        if (Environment.GetEnvironmentVariable("SFR_WRITE_VECTORS") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(VectorPath())!);
            File.WriteAllText(VectorPath(), generated);
        }

        Assert.Equal(generated, File.ReadAllText(VectorPath()));
        Assert.True(PublishedVectors().Count >= 45);
    }

    [Theory]
    [MemberData(nameof(PublishedVectors))]
    public void Published_vector_replays(string name) => Assert.Null(Replay(Load(name)));

    [Theory]
    [MemberData(nameof(PublishedVectors))]
    public void A_vector_with_a_changed_expectation_fails(string name)
    {
        JsonNode vector = Load(name);
        JsonNode output = vector["output"]!;
        if (output["digest"] is not null)
        {
            output["digest"] = new string('0', 64);
        }
        else
        {
            output["refusal"] = output["refusal"]!.GetValue<string>() == nameof(RosterRefusal.None) ? nameof(RosterRefusal.BadSignature) : nameof(RosterRefusal.None);
        }

        Assert.NotNull(Replay(vector));
    }

    [Fact]
    public void Every_refusal_of_the_vocabulary_appears_in_a_vector()
    {
        HashSet<string> covered = [.. JsonNode.Parse(File.ReadAllText(VectorPath()))!["vectors"]!.AsArray().Select(v => v!["output"]!["refusal"]!.GetValue<string>())];
        string[] missing = [.. Enum.GetNames<RosterRefusal>().Where(n => !covered.Contains(n))];
        Assert.Empty(missing);
    }
}
