using SecureFedRec.Fuzz;
using SharpFuzz;

// securefedrec-fuzz: coverage-guided fuzzing entry points (docs/fuzzing.md).
//   list                                  the targets
//   seed <dir>                            writes each target's seed corpus into <dir>/<target>/
//   <target> --afl                        AFL++ persistent mode (under afl-fuzz; SharpFuzz-instrumented assemblies)
//   <target> --afl-out-of-process         AFL++ with each input in a child process (survives stack overflows; slower)
//   <target> --libfuzzer                  libFuzzer mode (under libfuzzer-dotnet)
//   <target> --run <file-or-dir>...       runs inputs once each, no fuzzer (replays a crash or checks a corpus); use the
//                                         uninstrumented build: instrumented code outside a fuzzer has no coverage map
if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.WriteLine("usage: SecureFedRec.Fuzz list | seed <dir> | <target> (--afl | --afl-out-of-process | --libfuzzer | --run <file-or-dir>...)");
    return args.Length == 0 ? 2 : 0;
}

if (args[0] == "list")
{
    foreach (Target t in Targets.All)
    {
        Console.WriteLine($"{t.Name,-16} {t.Description}");
    }

    return 0;
}

if (args[0] == "seed")
{
    if (args.Length != 2)
    {
        Console.Error.WriteLine("usage: SecureFedRec.Fuzz seed <dir>");
        return 2;
    }

    foreach (Target t in Targets.All)
    {
        string folder = Path.Combine(args[1], t.Name);
        Directory.CreateDirectory(folder);
        int n = 0;
        foreach (byte[] seed in t.Seeds().DistinctBy(Convert.ToHexString))
        {
            File.WriteAllBytes(Path.Combine(folder, $"seed-{n++:D3}"), seed);
        }

        Console.WriteLine($"{t.Name}: {n} seeds in {folder}");
    }

    return 0;
}

Target? target = Targets.All.FirstOrDefault(t => t.Name == args[0]);
if (target is null || args.Length < 2)
{
    Console.Error.WriteLine($"unknown target or missing mode; targets: {string.Join(", ", Targets.All.Select(t => t.Name))}");
    return 2;
}

switch (args[1])
{
    // Instrumented code may only run once SharpFuzz has mapped AFL's coverage memory, i.e. inside the fuzzer's callback:
    // the shared state (the corpus round, about a second) is built during the first input, never before Run.
    case "--afl":
        Fuzzer.Run(stream => target.Run(ReadAll(stream)));
        return 0;
    case "--afl-out-of-process":
        Fuzzer.OutOfProcess.Run(stream => target.Run(ReadAll(stream)));
        return 0;
    case "--libfuzzer":
        Fuzzer.LibFuzzer.Run(span => target.Run(span.ToArray()));
        return 0;
    case "--run":
        int count = 0;
        foreach (string path in args.Skip(2).SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories) : [p]))
        {
            target.Run(File.ReadAllBytes(path));
            count++;
        }

        Console.WriteLine($"{target.Name}: {count} inputs, no crash");
        return 0;
    default:
        Console.Error.WriteLine($"unknown mode {args[1]}");
        return 2;
}

static byte[] ReadAll(Stream stream)
{
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    return buffer.ToArray();
}
