using System.Globalization;
using System.Text.Json.Nodes;

namespace SecureFedRec.Roster.Tests;

/// <summary>
/// <see cref="RosterFile.TryParseTime"/> reads the fixed format by hand (every member has two times and every client
/// reads every member each round); it must accept exactly the strings the framework's exact parser accepts, with the same
/// instant.
/// </summary>
public sealed class RosterTimeTests
{
    private const string Format = "yyyy-MM-dd'T'HH:mm:ss'Z'";

    public static TheoryData<string> Edges() =>
    [
        "2027-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "0000-01-01T00:00:00Z",
        "2024-02-29T12:00:00Z", "2023-02-29T12:00:00Z", "2100-02-29T00:00:00Z", "2000-02-29T00:00:00Z",
        "2027-04-31T00:00:00Z", "2027-13-01T00:00:00Z", "2027-00-10T00:00:00Z", "2027-01-00T00:00:00Z",
        "2027-01-01T24:00:00Z", "2027-01-01T23:60:00Z", "2027-01-01T23:59:60Z", "2027-01-01 00:00:00Z",
        "2027-01-01t00:00:00Z", "2027-01-01T00:00:00z", "2027/01/01T00:00:00Z", "2027-01-01T00.00:00Z",
        "+027-01-01T00:00:00Z", "2027-+1-01T00:00:00Z", "2027-01-01T0a:00:00Z", "202７-01-01T00:00:00Z",
        "2027-01-01T00:00:00", "2027-01-01T00:00:00ZZ", " 2027-01-01T00:00:00Z", "2027-1-01T00:00:00Z ",
        "2027-01-01T00:00:00.5Z", "2027-01-01T00:00:00+01:00", "", "٢٠٢٧-01-01T00:00:00Z",
    ];

    [Theory]
    [MemberData(nameof(Edges))]
    public void Edge_strings_read_as_the_exact_parser_reads_them(string text) => AssertSame(text);

    [Fact]
    public void Random_near_miss_strings_read_as_the_exact_parser_reads_them()
    {
        // Valid times with one character replaced by a digit, a separator or a letter: 20,000 strings, about half valid.
        var random = new Random(20261203);
        const string alphabet = "0123456789-:TZ tz+.a";
        int accepted = 0;
        for (int n = 0; n < 20_000; n++)
        {
            var instant = new DateTime(1, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(random.NextDouble() * 315_537_897_599);
            char[] text = instant.ToString(Format, CultureInfo.InvariantCulture).ToCharArray();
            if (n % 2 == 0)
            {
                text[random.Next(text.Length)] = alphabet[random.Next(alphabet.Length)];
            }

            accepted += AssertSame(new string(text)) ? 1 : 0;
        }

        Assert.InRange(accepted, 10_000, 19_000);
    }

    [Fact]
    public void A_member_time_the_exact_parser_refuses_is_refused_in_the_file_with_its_place()
    {
        byte[] file = Fixture.Edit(RosterVerifierTests.Good, r => ((JsonObject)r["members"]![1]!)["notAfter"] = "2027-02-30T00:00:00Z");
        RosterCheck check = RosterFile.TryParse(file, out RosterDocument? document);
        Assert.Null(document);
        Assert.Equal(RosterRefusal.Malformed, check.Refusal);
        Assert.Equal("members[1].notAfter: not a time yyyy-MM-ddTHH:mm:ssZ", check.Detail);
    }

    private static bool AssertSame(string text)
    {
        bool expected = DateTime.TryParseExact(text, Format, CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out DateTime reference);
        bool actual = RosterFile.TryParseTime(text, out DateTimeOffset time);
        Assert.True(expected == actual, $"\"{text}\": exact parser {expected}, roster parser {actual}");
        if (expected)
        {
            Assert.Equal(new DateTimeOffset(reference, TimeSpan.Zero), time);
        }

        return expected;
    }
}
