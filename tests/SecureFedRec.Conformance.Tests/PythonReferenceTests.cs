using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace SecureFedRec.Conformance.Tests;

/// <summary>
/// The independent implementation (protocol-spec/vectors.md, "An independent implementation"): python/sfr_ref.py,
/// written from protocol-spec/*.md alone with the Python standard library and Debian's python3-cryptography,
/// python3-protobuf and python3-grpc-tools, re-derives every published vector family byte for byte (the accountant
/// within the spec's relative 1e-12). Each family is one row; a row fails with the script's output. The checker is shown
/// to fail: the same families with one byte of the committed file changed must report a mismatch.
/// Python missing: skipped locally with a message on stderr, failed under CI=true (scripts/install-prereqs.sh installs
/// it), as the integration tests' prerequisites rule.
/// </summary>
public sealed partial class PythonReferenceTests
{
    /// <summary>Every family the script knows, with the file it reads (relative to protocol-spec/vectors).</summary>
    public static TheoryData<string, string> Families() => new()
    {
        { "mask-prg", "mask-prg.json" },
        { "derivations", "derivations.json" },
        { "shamir", "shamir.json" },
        { "graphs", "graphs/harary-from-session.json" },
        { "dp-encode", "dp/encode-decode.json" },
        { "dp-accountant", "dp/accountant.json" },
        { "roster", "roster/roster.json" },
        { "ledger", "ledger/ledger-chain.json" },
        { "client-ledger", "client-ledger-v2.jsonl" },
        { "network-transfer", "network/chunked-transfer.json" },
        { "network-transcript", "network/round-transcript.json" },
        { "round", "round-n5-t3-d16-b16-malicious.json" },
    };

    [Theory]
    [MemberData(nameof(Families))]
    public void The_independent_implementation_re_derives_the_vector_family(string family, string file)
    {
        if (Python.Require() is not { } python)
        {
            return;
        }

        (int code, string output) = Python.Run(python, "vectors", family, "--vectors", VectorReplayTests.VectorDirectory());
        Assert.True(code == 0, $"sfr_ref.py vectors {family} ({file}) exited {code}:\n{output}");
        Match summary = Summary().Match(output);
        Assert.True(summary.Success && summary.Groups[1].Value == summary.Groups[2].Value && int.Parse(summary.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > 0,
            "no complete summary line:\n" + output);
        Assert.DoesNotContain("FAIL ", output, StringComparison.Ordinal);
    }

    /// <summary>One nibble of the last long hex value of the file changed (a seed, a key, a hash, a signature or a
    /// message): the replay must report a mismatch, exit 1, and name it.</summary>
    [Theory]
    [MemberData(nameof(Families))]
    public void A_vector_with_one_changed_byte_fails_the_independent_replay(string family, string file)
    {
        if (Python.Require() is not { } python)
        {
            return;
        }

        string text = File.ReadAllText(Path.Combine(VectorReplayTests.VectorDirectory(), file));
        int at;
        char flipped;
        if (family == "dp-accountant")
        {
            // no bytes in this file: the first decimal of the last charged round epsilon instead (a change in the
            // last digit would be inside the spec's relative tolerance of 1e-12, and is rightly accepted)
            Match eps = RoundEpsilon().Matches(text).Last();
            at = eps.Index + eps.Value.IndexOf('.', StringComparison.Ordinal) + 1;
            flipped = (char)('0' + ((text[at] - '0' + 1) % 10));
        }
        else
        {
            Match last = LongHex().Matches(text).Last();
            at = last.Index + (last.Length / 2);
            flipped = text[at] == '0' ? '1' : '0';
        }

        string changed = string.Concat(text.AsSpan(0, at), flipped.ToString(), text.AsSpan(at + 1));
        string path = Path.Combine(Path.GetTempPath(), $"sfr-ref-{Guid.NewGuid():N}-{Path.GetFileName(file)}");
        File.WriteAllText(path, changed, new UTF8Encoding(false));
        try
        {
            (int code, string output) = Python.Run(python, "vectors", family, "--vectors", VectorReplayTests.VectorDirectory(), "--file", path);
            Assert.True(code == 1, $"a changed byte at offset {at} of {file} was not detected (exit {code}):\n{output}");
            Assert.Contains("FAIL ", output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void The_script_refuses_an_unknown_family()
    {
        if (Python.Require() is not { } python)
        {
            return;
        }

        (int code, string output) = Python.Run(python, "vectors", "no-such-family");
        Assert.True(code == 2, output);
        Assert.Contains("unknown family", output, StringComparison.Ordinal);
    }

    [GeneratedRegex("(\\d+) of (\\d+) checks passed")]
    private static partial Regex Summary();

    [GeneratedRegex("[0-9a-f]{64,}")]
    private static partial Regex LongHex();

    [GeneratedRegex("(?<=\"roundEpsilon\": )\\d+\\.\\d{8,}")]
    private static partial Regex RoundEpsilon();

    /// <summary>Debian's python3 with cryptography, protobuf and grpc_tools (the rule of the integration tests'
    /// Prerequisites: skip locally with a message, fail under CI=true).</summary>
    internal static class Python
    {
        private static readonly Lazy<string?> Found = new(Find);

        public static string Script => Path.Combine(AppContext.BaseDirectory, "python", "sfr_ref.py");

        private static string? Find()
        {
            foreach (string candidate in new[] { "/usr/bin/python3", "python3" })
            {
                try
                {
                    using var p = Process.Start(new ProcessStartInfo(candidate, "-c \"import cryptography.hazmat.primitives.ciphers.aead, grpc_tools, google.protobuf\"")
                    {
                        RedirectStandardError = true,
                        RedirectStandardOutput = true,
                    });
                    if (p is not null && p.WaitForExit(30_000) && p.ExitCode == 0)
                    {
                        return candidate;
                    }
                }
                catch (System.ComponentModel.Win32Exception)
                {
                    // not installed
                }
            }

            return null;
        }

        public static string? Require()
        {
            if (Found.Value is not null)
            {
                return Found.Value;
            }

            const string message = "python3 with cryptography, protobuf and grpc_tools is missing (Debian: python3-cryptography python3-protobuf python3-grpc-tools). Run scripts/install-prereqs.sh.";
            if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            {
                Assert.Fail(message);
            }

            Console.Error.WriteLine("SKIPPED (not CI): " + message);
            return null;
        }

        public static (int Code, string Output) Run(string python, params string[] args)
        {
            return ChildProcess.Run(python, Script, "sfr_ref.py", args);
        }
    }
}
