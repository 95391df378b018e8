using System.CommandLine;
using SecureFedRec.Protocol.Conformance;

namespace SecureFedRec.Cli.Commands;

/// <summary><c>securefedrec vectors verify DIR</c> replays the published test vectors; <c>vectors generate DIR</c> rewrites them.</summary>
internal static class VectorsCommand
{
    public static Command Create()
    {
        var vectors = new Command("vectors", "Secure-aggregation test vectors (protocol-spec/vectors).");

        var verifyDir = new Argument<DirectoryInfo>("DIR") { Description = "Directory holding the *.json vector files." };
        var verify = new Command("verify", "Recompute every vector with this implementation and compare; exit 8 on any mismatch.");
        verify.Arguments.Add(verifyDir);
        verify.SetAction(parseResult =>
        {
            DirectoryInfo dir = parseResult.GetValue(verifyDir)!;
            if (!dir.Exists)
            {
                Console.Error.WriteLine($"No such directory: {dir.FullName}");
                return 2;
            }

            IReadOnlyList<VectorCheck> checks = ConformanceVectors.VerifyDirectory(dir.FullName);
            foreach (VectorCheck check in checks)
            {
                Console.WriteLine($"{(check.Passed ? "PASS" : "FAIL")}  {check.File}  {check.Name}{(check.Passed ? string.Empty : "  " + check.Detail)}");
            }

            int failed = checks.Count(c => !c.Passed);
            Console.WriteLine($"{checks.Count - failed}/{checks.Count} vectors passed.");
            return failed == 0 && checks.Count > 0 ? ExitCodes.Ok : ExitCodes.VerificationFailed;
        });

        var generateDir = new Argument<DirectoryInfo>("DIR") { Description = "Directory to write the *.json vector files into." };
        var generate = new Command("generate", "Regenerate the vector files (deterministic: rerunning reproduces them byte for byte).");
        generate.Arguments.Add(generateDir);
        generate.SetAction(parseResult =>
        {
            DirectoryInfo dir = parseResult.GetValue(generateDir)!;
            ConformanceVectors.WriteAll(dir.FullName);
            Console.WriteLine($"Wrote vectors to {dir.FullName}");
            return 0;
        });

        vectors.Subcommands.Add(verify);
        vectors.Subcommands.Add(generate);
        return vectors;
    }
}
