using System.CommandLine;

namespace SecureFedRec.Cli.Tests;

/// <summary>The one exit-code table, per command and per flag: every flag is fed a wrong value, every failure class its code.</summary>
public sealed class ExitCodeTests
{
    private static IEnumerable<(string Path, Command Command)> Commands(Command command, string path)
    {
        yield return (path, command);
        foreach (Command sub in command.Subcommands)
        {
            foreach (var c in Commands(sub, (path + " " + sub.Name).Trim()))
            {
                yield return c;
            }
        }
    }

    private static IEnumerable<(string Path, Option Option)> Options() =>
        Commands(Program.CreateRoot(), string.Empty)
            .SelectMany(c => c.Command.Options.Where(o => o is not System.CommandLine.Help.HelpOption and not VersionOption).Select(o => (c.Path, o)));

    private static readonly Type[] Typed = [typeof(int), typeof(int?), typeof(long), typeof(double), typeof(double?), typeof(ulong), typeof(ulong?), typeof(bool)];

    /// <summary>Every flag whose value has a type: fed a value of the wrong type.</summary>
    public static TheoryData<string, string> TypedFlags()
    {
        var data = new TheoryData<string, string>();
        foreach ((string path, Option option) in Options().Where(o => Typed.Contains(o.Option.ValueType)))
        {
            data.Add(path, option.Name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(TypedFlags))]
    public void A_typed_flag_with_a_value_of_the_wrong_type_is_a_usage_error(string command, string option)
    {
        Cli.Result r = Cli.Run([.. command.Split(' '), option, "not-a-value"]);
        Assert.True(r.Code == ExitCodes.Usage, r.ToString());
        Assert.Contains(r.ErrorLines, l => l.StartsWith("error: ", StringComparison.Ordinal) && (l.Contains(option, StringComparison.Ordinal) || l.Contains("'not-a-value'", StringComparison.Ordinal)));
        Assert.Contains($"(usage: securefedrec {command} --help)", r.ErrorLines);
        Assert.DoesNotContain("   at ", r.Err, StringComparison.Ordinal);
    }

    /// <summary>Flags whose wrong value is not a type error: each has a row below; a new flag without one fails <see cref="Every_untyped_flag_has_a_wrong_value_row"/>.</summary>
    public static TheoryData<string, int, string> UntypedFlagRows => new()
    {
        { "client --config /nonexistent-sfr/client.json", ExitCodes.Usage, "error: The configuration file /nonexistent-sfr/client.json does not exist." },
        { "coordinator --config /nonexistent-sfr/c.json --insecure-dev", ExitCodes.Usage, "error: The configuration file /nonexistent-sfr/c.json does not exist." },
        { "coordinator --insecure-dev --store /nonexistent-sfr/c.db", ExitCodes.Usage, "error: Coordinator:Store: folder /nonexistent-sfr (which would hold c.db) does not exist." },
        { "coordinator --insecure-dev --store-provider mysql", ExitCodes.Usage, "error: Coordinator:StoreProvider: 'mysql' is not allowed: use one of sqlite, postgres." },
        { "coordinator --insecure-dev --roster /nonexistent-sfr/roster.json --roster-authority ed25519:d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", ExitCodes.Usage, "error: Coordinator:Roster:Path: file /nonexistent-sfr/roster.json does not exist." },
        { "coordinator --insecure-dev --roster-authority ed25519:zz", ExitCodes.Usage, "error: Coordinator:Roster:Authority: 'ed25519:zz' is not SUITE:HEX of a valid public key" },
        { "config check --coordinator /nonexistent-sfr/c.json", ExitCodes.Usage, "error: The configuration file /nonexistent-sfr/c.json does not exist." },
        { "config check --client /nonexistent-sfr/c.json", ExitCodes.Usage, "error: The configuration file /nonexistent-sfr/c.json does not exist." },
        { "config docs --out /nonexistent-sfr/configuration.md", ExitCodes.Usage, "error: --out: the folder /nonexistent-sfr does not exist." },
        { "bench crypto --seconds 0.01 --json /nonexistent-sfr/b.json", ExitCodes.Usage, "error: --json: the folder /nonexistent-sfr does not exist." },
        { "bench secagg --graph ring --clients 3 --dim 4", ExitCodes.Usage, "--graph must be full or harary, got 'ring'." },
        { "bench secagg --clients 3 --dim 4 --json /nonexistent-sfr/b.json", ExitCodes.Usage, "error: --json: the folder /nonexistent-sfr does not exist." },
        { "bench network --clients 3 --dim 4 --json /nonexistent-sfr/b.json", ExitCodes.Usage, "error: --json: the folder /nonexistent-sfr does not exist." },
        { "keygen client --out /etc/hostname/keys", ExitCodes.StoreUnavailable, "error: " },
        { "keygen client --name ../escape", ExitCodes.Usage, "error: --name must be a plain file name" },
        { "keygen dev-cert --out /etc/hostname/keys", ExitCodes.StoreUnavailable, "error: " },
        { "keygen dev-cert --host -- --out /tmp", ExitCodes.Usage, "error: " },
        { "privacy epsilon --ledger /nonexistent-sfr/l.ledger", ExitCodes.Usage, "No ledger at /nonexistent-sfr/l.ledger." },
        { "privacy epsilon --sigma2 abc", ExitCodes.Usage, "--sigma2 must be NUM/DEN with positive integers (e.g. 419430400/1048576)." },
        { "simulate --dataset /nonexistent-sfr/ratings.csv", ExitCodes.Usage, "cannot load the dataset: " },
        { "simulate --json /nonexistent-sfr/s.json", ExitCodes.Usage, "error: --json: the folder /nonexistent-sfr does not exist." },
        { "simulate --shape ring", ExitCodes.Usage, "" },
        { "simulate --groups /nonexistent-sfr/g.csv", ExitCodes.Usage, "" },
        { "simulate --epsilon-sweep 1,x", ExitCodes.Usage, "--epsilon-sweep: 'x' is not a positive finite number." },
        { "simulate --model svd", ExitCodes.Usage, "error: --model must be one of mf, bpr, ials, neural, knn, got 'svd'." },
        { "simulate --model mf --gram-items 10", ExitCodes.Usage, "--gram-items applies to the ranking models (--model bpr|ials|neural|knn), not to --model mf." },
        { "simulate --model mf --local-weight 1", ExitCodes.Usage, "--local-weight applies to the ranking models (--model bpr|ials|neural|knn), not to --model mf." },
        { "simulate --model knn --local-weight two", ExitCodes.Usage, "" },
        { "simulate --model IALS", ExitCodes.Usage, "error: --model must be one of mf, bpr, ials, neural, knn, got 'IALS'." },
        { "simulate --plot /nonexistent-sfr/p.svg --epsilon-sweep 1", ExitCodes.Usage, "error: --plot: the folder /nonexistent-sfr does not exist." },
        { "simulate --protocol newest", ExitCodes.Usage, "error: --protocol must be one of latest, random, got 'newest'." },
        { "simulate --optimizer sgd", ExitCodes.Usage, "error: --optimizer must be one of fedavg, fedadam, got 'sgd'." },
        { "vectors verify /nonexistent-sfr", ExitCodes.Usage, "No such directory: /nonexistent-sfr" },
        { "vectors generate /etc/hostname/v", ExitCodes.StoreUnavailable, "error: " },
        // keygen identity: nothing is written on a refusal.
        { "keygen identity --out /etc/hostname/keys", ExitCodes.StoreUnavailable, "error: --out: cannot create the folder /etc/hostname/keys: " },
        { "keygen identity --name ../escape --out /nonexistent-sfr", ExitCodes.Usage, "error: --name must be a plain file name (no folder), got '../escape'." },
        { "keygen identity --suite rsa --out /nonexistent-sfr", ExitCodes.Usage, "error: --suite must be ed25519 or ecdsa-p256-sha256, got 'rsa'." },
        // roster: flags are refused before any key or draft is written (the draft folders below do not exist).
        { "roster init --consortium Bad_Name --authority-key /nonexistent-sfr/a.key --draft /nonexistent-sfr/d.json", ExitCodes.Usage, "error: --consortium must be 1..64 characters of [a-z0-9._-], starting with a letter or digit, got 'Bad_Name'." },
        { "roster init --consortium demo --authority-key /nonexistent-sfr/a.key --draft /nonexistent-sfr/d.json", ExitCodes.Usage, "error: --authority-key: the folder /nonexistent-sfr does not exist." },
        { "roster init --consortium demo --authority-key /nonexistent-sfr/a.key --existing-key --draft /nonexistent-sfr/d.json", ExitCodes.Usage, "error: --authority-key: no key at /nonexistent-sfr/a.key" },
        { "roster init --consortium demo --authority-key /nonexistent-sfr/a.key --suite rsa --draft /nonexistent-sfr/d.json", ExitCodes.Usage, "error: --suite must be ed25519 or ecdsa-p256-sha256, got 'rsa'." },
        { "roster init --consortium demo --authority-key /tmp/sfr-never-written.key --draft /nonexistent-sfr/d.json", ExitCodes.Usage, "error: --draft: the folder /nonexistent-sfr does not exist." },
        { "roster init --consortium demo --authority-key /tmp/sfr-never-written.key --draft /etc/hostname", ExitCodes.Usage, "error: --draft: /etc/hostname exists; refusing to overwrite a draft." },
        { "roster add --draft /nonexistent-sfr/d.json --organisation bank --client-id c1 --public-key ed25519:e2de527d405dc5d33ee2898501cbf606ad6081b1610780c6b4437ba74a5da3b0", ExitCodes.Usage, "error: --draft: no draft at /nonexistent-sfr/d.json" },
        { "roster add --draft /etc/hostname --organisation bank --client-id c1 --public-key ed25519:e2de527d405dc5d33ee2898501cbf606ad6081b1610780c6b4437ba74a5da3b0", ExitCodes.VerificationFailed, "refused: Malformed: not JSON" },
        { "roster add --draft /nonexistent-sfr/d.json --organisation Bad/Org --client-id c1 --public-key ed25519:e2de527d405dc5d33ee2898501cbf606ad6081b1610780c6b4437ba74a5da3b0", ExitCodes.Usage, "error: --organisation must be 1..64 characters of [a-z0-9._-], starting with a letter or digit, got 'Bad/Org'." },
        { "roster add --draft /nonexistent-sfr/d.json --organisation bank --client-id ../c1 --public-key ed25519:e2de527d405dc5d33ee2898501cbf606ad6081b1610780c6b4437ba74a5da3b0", ExitCodes.Usage, "error: --client-id must be 1..64 characters of [a-z0-9._-], starting with a letter or digit, got '../c1'." },
        { "roster add --draft /nonexistent-sfr/d.json --organisation bank --client-id c1 --public-key ed25519:zz", ExitCodes.Usage, "error: --public-key must be SUITE:HEX or lowercase HEX with --suite" },
        { "roster add --draft /nonexistent-sfr/d.json --organisation bank --client-id c1 --public-key ed25519:e2de527d405dc5d33ee2898501cbf606ad6081b1610780c6b4437ba74a5da3", ExitCodes.Usage, "error: --public-key must be SUITE:HEX or lowercase HEX with --suite" },
        { "roster add --draft /nonexistent-sfr/d.json --organisation bank --client-id c1 --public-key-file /nonexistent-sfr/m.pub", ExitCodes.Usage, "error: --public-key-file: no file at /nonexistent-sfr/m.pub." },
        { "roster add --draft /nonexistent-sfr/d.json --organisation bank --client-id c1 --public-key-file /etc/hostname", ExitCodes.Usage, "error: --public-key-file: /etc/hostname does not hold \"SUITE HEX\" of a valid public key" },
        { "roster add --draft /nonexistent-sfr/d.json --organisation bank --client-id c1 --public-key e2de527d405dc5d33ee2898501cbf606ad6081b1610780c6b4437ba74a5da3b0 --suite rsa", ExitCodes.Usage, "error: --suite must be ed25519 or ecdsa-p256-sha256, got 'rsa'." },
        { "roster add --draft /nonexistent-sfr/d.json --organisation bank --client-id c1 --public-key e2de527d405dc5d33ee2898501cbf606ad6081b1610780c6b4437ba74a5da3b0 --not-before yesterday", ExitCodes.Usage, "error: --not-before must be yyyy-MM-ddTHH:mm:ssZ (UTC)" },
        { "roster add --draft /nonexistent-sfr/d.json --organisation bank --client-id c1 --public-key e2de527d405dc5d33ee2898501cbf606ad6081b1610780c6b4437ba74a5da3b0 --not-after 2026-13-01T00:00:00Z", ExitCodes.Usage, "error: --not-after must be yyyy-MM-ddTHH:mm:ssZ (UTC)" },
        { "roster add --draft /nonexistent-sfr/d.json --organisation bank --client-id c1 --public-key e2de527d405dc5d33ee2898501cbf606ad6081b1610780c6b4437ba74a5da3b0 --not-before 2026-01-01T00:00:00Z --not-after 2025-01-01T00:00:00Z", ExitCodes.Usage, "error: --not-after (2025-01-01T00:00:00Z) must be after --not-before (2026-01-01T00:00:00Z)." },
        { "roster revoke --draft /nonexistent-sfr/d.json --organisation bank --client-id c1", ExitCodes.Usage, "error: --draft: no draft at /nonexistent-sfr/d.json" },
        { "roster revoke --draft /nonexistent-sfr/d.json --organisation Bad/Org --client-id c1", ExitCodes.Usage, "error: --organisation must be 1..64 characters" },
        { "roster revoke --draft /nonexistent-sfr/d.json --organisation bank --client-id ../c1", ExitCodes.Usage, "error: --client-id must be 1..64 characters" },
        { "roster revoke --draft /nonexistent-sfr/d.json --organisation bank --client-id c1 --at never", ExitCodes.Usage, "error: --at must be yyyy-MM-ddTHH:mm:ssZ (UTC)" },
        { "roster sign --draft /nonexistent-sfr/d.json --authority-key /etc/hostname --out /tmp/sfr-never-written.json", ExitCodes.Usage, "error: --draft: no draft at /nonexistent-sfr/d.json" },
        { "roster sign --draft /nonexistent-sfr/d.json --authority-key /nonexistent-sfr/a.key --out /tmp/sfr-never-written.json", ExitCodes.Usage, "error: --authority-key: no file at /nonexistent-sfr/a.key." },
        { "roster sign --draft /nonexistent-sfr/d.json --authority-key /etc/hostname --out /nonexistent-sfr/r.json", ExitCodes.Usage, "error: --out: the folder /nonexistent-sfr does not exist." },
        { "roster verify --roster /nonexistent-sfr/r.json --authority ed25519:f86eb7166e6711156e0b72ed9ea3cc537e6d51bd70b6c1812c4dc71fa06c6240", ExitCodes.Usage, "error: --roster: no file at /nonexistent-sfr/r.json." },
        { "roster verify --roster /etc/hostname --authority ed25519:f86eb7166e6711156e0b72ed9ea3cc537e6d51bd70b6c1812c4dc71fa06c6240", ExitCodes.VerificationFailed, "refused: Malformed: not JSON" },
        { "roster verify --roster /etc/hostname --authority ed25519:zz", ExitCodes.Usage, "error: --authority must be SUITE:HEX of a valid public key" },
        { "roster verify --roster /etc/hostname --authority ed25519:f86eb7166e6711156e0b72ed9ea3cc537e6d51bd70b6c1812c4dc71fa06c6240 --last-seen 1:abc", ExitCodes.Usage, "error: --last-seen must be VERSION:DIGEST" },
        { "roster verify --roster /etc/hostname --authority ed25519:f86eb7166e6711156e0b72ed9ea3cc537e6d51bd70b6c1812c4dc71fa06c6240 --now tomorrow", ExitCodes.Usage, "error: --now must be yyyy-MM-ddTHH:mm:ssZ (UTC)" },
        { "roster verify --roster /etc/hostname --authority ed25519:f86eb7166e6711156e0b72ed9ea3cc537e6d51bd70b6c1812c4dc71fa06c6240 --member bank", ExitCodes.Usage, "error: --member must be ORGANISATION/CLIENT-ID" },
        // ledger: read-only; a store that is not there is never created.
        { "ledger verify --store mysql:x", ExitCodes.Usage, "error: --store must be sqlite:PATH or postgres:CONNECTION-STRING." },
        { "ledger verify --store sqlite:/nonexistent-sfr/c.db", ExitCodes.StoreUnavailable, "error: --store: no SQLite store at /nonexistent-sfr/c.db." },
        { "ledger verify --store sqlite:/nonexistent-sfr/c.db --expect-head 3:xyz", ExitCodes.Usage, "error: --expect-head must be COUNT:HASH" },
        { "ledger head --store sqlite:/nonexistent-sfr/c.db", ExitCodes.StoreUnavailable, "error: --store: no SQLite store at /nonexistent-sfr/c.db." },
        { "ledger head --store /var/c.db", ExitCodes.Usage, "error: --store must be sqlite:PATH or postgres:CONNECTION-STRING." },
        // operator API (status, rounds, round, models, dashboard login, ledger verify|export --coordinator): flags are checked before any call.
        { "status --coordinator ftp://x", ExitCodes.Usage, "error: --coordinator must be an https:// (or http://) URL, got 'ftp://x'." },
        { "status --coordinator http://127.0.0.1:9 --key /nonexistent-sfr/o.key", ExitCodes.Usage, "error: --key: no operator key at /nonexistent-sfr/o.key" },
        { "status --coordinator http://127.0.0.1:9 --trusted-cert /nonexistent-sfr/c.crt", ExitCodes.Usage, "error: --trusted-cert: no certificate at /nonexistent-sfr/c.crt." },
        { "status --coordinator http://127.0.0.1:9 --pin xyz", ExitCodes.Usage, "error: --pin: 'xyz' is not a SHA-256 public-key pin" },
        { "rounds --coordinator ftp://x", ExitCodes.Usage, "error: --coordinator must be an https:// (or http://) URL, got 'ftp://x'." },
        { "rounds --coordinator http://127.0.0.1:9 --key /nonexistent-sfr/o.key", ExitCodes.Usage, "error: --key: no operator key at /nonexistent-sfr/o.key" },
        { "rounds --coordinator http://127.0.0.1:9 --trusted-cert /nonexistent-sfr/c.crt", ExitCodes.Usage, "error: --trusted-cert: no certificate at /nonexistent-sfr/c.crt." },
        { "rounds --coordinator http://127.0.0.1:9 --pin xyz", ExitCodes.Usage, "error: --pin: 'xyz' is not a SHA-256 public-key pin" },
        { "round 1 --coordinator ftp://x", ExitCodes.Usage, "error: --coordinator must be an https:// (or http://) URL, got 'ftp://x'." },
        { "round 1 --coordinator http://127.0.0.1:9 --key /nonexistent-sfr/o.key", ExitCodes.Usage, "error: --key: no operator key at /nonexistent-sfr/o.key" },
        { "round 1 --coordinator http://127.0.0.1:9 --trusted-cert /nonexistent-sfr/c.crt", ExitCodes.Usage, "error: --trusted-cert: no certificate at /nonexistent-sfr/c.crt." },
        { "round 1 --coordinator http://127.0.0.1:9 --pin xyz", ExitCodes.Usage, "error: --pin: 'xyz' is not a SHA-256 public-key pin" },
        { "models --coordinator ftp://x", ExitCodes.Usage, "error: --coordinator must be an https:// (or http://) URL, got 'ftp://x'." },
        { "models --coordinator http://127.0.0.1:9 --key /nonexistent-sfr/o.key", ExitCodes.Usage, "error: --key: no operator key at /nonexistent-sfr/o.key" },
        { "models --coordinator http://127.0.0.1:9 --trusted-cert /nonexistent-sfr/c.crt", ExitCodes.Usage, "error: --trusted-cert: no certificate at /nonexistent-sfr/c.crt." },
        { "models --coordinator http://127.0.0.1:9 --pin xyz", ExitCodes.Usage, "error: --pin: 'xyz' is not a SHA-256 public-key pin" },
        { "dashboard login --coordinator ftp://x", ExitCodes.Usage, "error: --coordinator must be an https:// (or http://) URL, got 'ftp://x'." },
        { "dashboard login --coordinator http://127.0.0.1:9 --key /nonexistent-sfr/o.key", ExitCodes.Usage, "error: --key: no operator key at /nonexistent-sfr/o.key" },
        { "dashboard login --coordinator http://127.0.0.1:9 --trusted-cert /nonexistent-sfr/c.crt", ExitCodes.Usage, "error: --trusted-cert: no certificate at /nonexistent-sfr/c.crt." },
        { "dashboard login --coordinator http://127.0.0.1:9 --pin xyz", ExitCodes.Usage, "error: --pin: 'xyz' is not a SHA-256 public-key pin" },
        { "ledger verify --coordinator ftp://x", ExitCodes.Usage, "error: --coordinator must be an https:// (or http://) URL, got 'ftp://x'." },
        { "ledger verify --coordinator http://127.0.0.1:9 --key /nonexistent-sfr/o.key", ExitCodes.Usage, "error: --key: no operator key at /nonexistent-sfr/o.key" },
        { "ledger verify --coordinator http://127.0.0.1:9 --trusted-cert /nonexistent-sfr/c.crt", ExitCodes.Usage, "error: --trusted-cert: no certificate at /nonexistent-sfr/c.crt." },
        { "ledger verify --coordinator http://127.0.0.1:9 --pin xyz", ExitCodes.Usage, "error: --pin: 'xyz' is not a SHA-256 public-key pin" },
        { "ledger export --coordinator ftp://x", ExitCodes.Usage, "error: --coordinator must be an https:// (or http://) URL, got 'ftp://x'." },
        { "ledger export --coordinator http://127.0.0.1:9 --key /nonexistent-sfr/o.key", ExitCodes.Usage, "error: --key: no operator key at /nonexistent-sfr/o.key" },
        { "ledger export --coordinator http://127.0.0.1:9 --trusted-cert /nonexistent-sfr/c.crt", ExitCodes.Usage, "error: --trusted-cert: no certificate at /nonexistent-sfr/c.crt." },
        { "ledger export --coordinator http://127.0.0.1:9 --pin xyz", ExitCodes.Usage, "error: --pin: 'xyz' is not a SHA-256 public-key pin" },
        { "status --coordinator http://127.0.0.1:9 --key /etc/hostname", ExitCodes.Usage, "error: --key: /etc/hostname is not a PKCS#8 PEM identity key (Ed25519 or ECDSA P-256)" },
        { "status --coordinator http://127.0.0.1:9 --trusted-cert /etc/hostname", ExitCodes.Usage, "error: --trusted-cert: /etc/hostname is not a PEM or DER certificate" },
        { "ledger export --coordinator http://127.0.0.1:9 --out /nonexistent-sfr/e.json", ExitCodes.Usage, "error: --out: the folder /nonexistent-sfr does not exist." },
        { "ledger export --coordinator http://127.0.0.1:9 --out /etc/hostname", ExitCodes.Usage, "error: --out: /etc/hostname exists; refusing to overwrite an export." },
        { "ledger verify --coordinator http://127.0.0.1:9 --all-models", ExitCodes.Usage, "error: --all-models re-hashes model bytes, which only the store holds: use it with --store." },
    };

    [Theory]
    [MemberData(nameof(UntypedFlagRows))]
    public void An_untyped_flag_with_a_wrong_value_gets_its_code_and_one_message(string commandLine, int code, string message)
    {
        Cli.Result r = Cli.Run(commandLine.Split(' '));
        Assert.True(r.Code == code, r.ToString());
        Assert.Contains(r.ErrorLines, l => l.StartsWith(message, StringComparison.Ordinal));
        Assert.DoesNotContain("   at ", r.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_untyped_flag_has_a_wrong_value_row()
    {
        var rows = UntypedFlagRows.Select(row => (string)row[0]).ToList();
        var missing = Options().Where(o => !Typed.Contains(o.Option.ValueType))
            .Where(o => !rows.Any(r => r.StartsWith(o.Path + " ", StringComparison.Ordinal) && r.Split(' ').Contains(o.Option.Name)))
            .Select(o => o.Path + " " + o.Option.Name).ToList();
        Assert.True(missing.Count == 0, "flags without a wrong-value test: " + string.Join(", ", missing));
    }

    public static TheoryData<string, string> RangeRows => new()
    {
        { "client --config x.json --rounds 0", "error: --rounds must be at least 1." },
        { "client --config x.json --recommend 0", "error: --recommend must be a list length from 1 to 1000." },
        { "client --config x.json --recommend 1001", "error: --recommend must be a list length from 1 to 1000." },
        { "keygen dev-cert --out /tmp --days 0", "error: --days must be in [1, 825]." },
        { "keygen dev-cert --out /tmp --days 826", "error: --days must be in [1, 825]." },
        { "bench crypto --seconds 0", "--seconds must be in (0, 60]." },
        { "bench crypto --seconds 61", "--seconds must be in (0, 60]." },
        { "coordinator --insecure-dev --port 70000", "error: Coordinator:Port: '70000' is out of range: must be in [0, 65535]." },
        { "coordinator --insecure-dev --max-rounds -1", "error: Coordinator:Rounds:MaxRounds: '-1' is out of range: must be ≥ 0." },
        { "bench secagg --clients 1 --dim 4", "Invalid settings: " },
        { "bench secagg --clients 3 --dim 4 --repeat 0", "Invalid settings: --repeat must be at least 1, got 0." },
        { "bench network --clients 2 --dim 4", "Invalid settings: --clients must be at least 3." },
        { "bench network --clients 3 --dim 0", "Invalid settings: --dim must be at least 1." },
        { "bench network --clients 3 --dim 4 --dropout 0.5", "Invalid settings: --dropout must be in [0, 0.5)." },
        { "bench network --clients 3 --dim 4 --phase-seconds 0", "Invalid settings: --phase-seconds must be positive." },
        { "bench network --clients 3 --dim 4 --max-message-bytes 1000", "Invalid settings: --max-message-bytes must be at least 65536." },
        { "bench network --clients 3 --dim 4 --threads -1", "Invalid settings: --threads must be 0 or positive." },
        { "simulate --clients 1", "--clients: at least 2 clients; got 1." },
        { "simulate --dropout 0.5", "--dropout: dropout must be in [0, 0.3]" },
        { "simulate --dp-rounds 0", "--dp-rounds: at least 1 round; got 0." },
        { "simulate --negatives 0", "--negatives: at least 1 negative; got 0." },
        { "simulate --dp-factors 0", "--dp-factors: factors must be in 1..1024; got 0." },
        { "simulate --prior-weight -1", "--prior-weight: the prior weight must be non-negative and finite; got -1." },
        { "simulate --prior-share 1", "--prior-share: the prior share must be in (0, 1); got 1." },
        { "simulate --prior-share 0", "--prior-share: the prior share must be in (0, 1); got 0." },
        { "simulate --model knn --gram-items 1", "--gram-items: the Gram's candidate items must be in 2..2000; got 1." },
        { "simulate --model knn --gram-items 2001", "--gram-items: the Gram's candidate items must be in 2..2000; got 2001." },
        { "simulate --model knn --gram-items 1999", "--gram-items: the Gram's candidate items must be in 2.." }, // more than the synthetic catalogue
        { "simulate --model knn --gram-rank -1", "--gram-rank: the Gram's rank must be 0 (full) or in 1..--gram-items; got -1." },
        { "simulate --model knn --gram-rank 501", "--gram-rank: the Gram's rank must be 0 (full) or in 1..--gram-items; got 501." },
        { "simulate --model knn --prior-share 1", "--prior-share: the prior share must be in (0, 1); got 1." },
        { "simulate --model knn --prior-weight -1", "--prior-weight: the prior weight must be non-negative and finite; got -1." },
        { "simulate --model knn --local-weight -1", "--local-weight: the local weight must be non-negative and finite; got -1." },
        { "simulate --model knn --local-weight NaN", "--local-weight: the local weight must be non-negative and finite; got NaN." },
        { "simulate --model knn --local-exponent -0.5", "--local-exponent: the local similarity exponent must be non-negative and finite; got -0.5." },
        { "simulate --model knn --local-exponent Infinity", "--local-exponent: the local similarity exponent must be non-negative and finite; got " },
        { "simulate --prior-window -1", "--prior-window: the prior window must be 0 (all items) or positive; got -1." },
        { "simulate --factors 0", "--factors: factors must be in 1..1024; got 0." },
        { "simulate --model mf --clients 1", "--clients must be at least 2 (secure aggregation needs two)." },
        { "simulate --model mf --rounds 0", "--rounds must be at least 1." },
        { "rounds --coordinator http://127.0.0.1:9 --limit 0", "error: --limit must be in [1, 1000]." },
        { "rounds --coordinator http://127.0.0.1:9 --limit 1001", "error: --limit must be in [1, 1000]." },
    };

    [Theory]
    [MemberData(nameof(RangeRows))]
    public void A_flag_out_of_range_is_a_usage_error(string commandLine, string message)
    {
        Cli.Result r = Cli.Run(commandLine.Split(' '));
        Assert.True(r.Code == ExitCodes.Usage, r.ToString());
        Assert.Contains(r.ErrorLines, l => l.StartsWith(message, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("")]
    [InlineData("no-such-command")]
    [InlineData("coordinator --no-such-flag")]
    [InlineData("client")]
    [InlineData("config check")]
    [InlineData("config check --coordinator a.json --client b.json")]
    [InlineData("vectors verify")]
    [InlineData("ledger verify")]
    [InlineData("ledger verify --store sqlite:/tmp/sfr-x.db --coordinator http://127.0.0.1:9")]
    [InlineData("round")]
    [InlineData("round abc --coordinator http://127.0.0.1:9")]
    [InlineData("status")]
    public void Usage_errors_exit_2(string commandLine)
    {
        Cli.Result r = Cli.Run(commandLine.Length == 0 ? [] : commandLine.Split(' '));
        Assert.True(r.Code == ExitCodes.Usage, r.ToString());
        Assert.StartsWith("error: ", r.ErrorLines[0], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("coordinator --help")]
    [InlineData("--version")]
    public void Help_and_version_exit_0(string commandLine)
    {
        Cli.Result r = Cli.Run(commandLine.Split(' '));
        Assert.True(r.Code == ExitCodes.Ok, r.ToString());
        Assert.NotEmpty(r.Out);
    }

    [Fact]
    public void Vectors_verify_passes_on_the_published_vectors()
    {
        Cli.Result r = Cli.Run("vectors", "verify", Path.Combine(Cli.RepoRoot(), "protocol-spec", "vectors"));
        Assert.True(r.Code == ExitCodes.Ok, r.ToString());
    }

    [Fact]
    public void A_vector_that_disagrees_is_a_verification_failure()
    {
        using var dir = new TempDir();
        // The first share of the first Shamir vector, one hex digit changed.
        string text = File.ReadAllText(Path.Combine(Cli.RepoRoot(), "protocol-spec", "vectors", "shamir.json"));
        int y = text.IndexOf("\"y\": \"", text.IndexOf("\"output\"", StringComparison.Ordinal), StringComparison.Ordinal) + 6;
        char flipped = text[y + 2] == '0' ? '1' : '0';
        File.WriteAllText(Path.Combine(dir.Path, "shamir.json"), text[..(y + 2)] + flipped + text[(y + 3)..]);
        Cli.Result r = Cli.Run("vectors", "verify", dir.Path);
        Assert.True(r.Code == ExitCodes.VerificationFailed, r.ToString());
    }

    [Fact]
    public void A_corrupt_ledger_is_a_verification_failure()
    {
        using var dir = new TempDir();
        string ledger = dir.File("bank.ledger", "{\"not\": \"a ledger\"}\n");
        Cli.Result r = Cli.Run("privacy", "epsilon", "--ledger", ledger);
        Assert.True(r.Code == ExitCodes.VerificationFailed, r.ToString());
    }

    [Fact]
    public void Codes_are_distinct_and_documented()
    {
        Assert.Equal(ExitCodes.All.Count, ExitCodes.All.Select(e => e.Code).Distinct().Count());
        string doc = File.ReadAllText(Path.Combine(Cli.RepoRoot(), "docs", "configuration.md"));
        foreach ((int code, string name, _) in ExitCodes.All)
        {
            Assert.Contains($"| {code} | `{name}` |", doc, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(1, 1, 0, ExitCodes.Ok)]
    [InlineData(2, 1, 0, ExitCodes.RoundIncomplete)]
    [InlineData(2, 1, 1, ExitCodes.PolicyDeclined)]
    [InlineData(1, 0, 1, ExitCodes.PolicyDeclined)]
    public void Client_rounds_map_to_codes(int wanted, int completed, int declined, int code) =>
        Assert.Equal(code, ExitCodes.ForRounds(wanted, completed, declined));

    [Fact]
    public void An_unexpected_failure_is_one_line_with_code_1()
    {
        var error = new StringWriter();
        int code = CliErrors.Report(new InvalidOperationException("boom\nsecond line"), error);
        Assert.Equal(ExitCodes.Failed, code);
        Assert.Equal("error: internal error (InvalidOperationException): boom second line" + Environment.NewLine, error.ToString());
    }

    [Theory]
    [InlineData(Grpc.Core.StatusCode.Unavailable, ExitCodes.Unreachable)]
    [InlineData(Grpc.Core.StatusCode.DeadlineExceeded, ExitCodes.Unreachable)]
    [InlineData(Grpc.Core.StatusCode.PermissionDenied, ExitCodes.Refused)]
    [InlineData(Grpc.Core.StatusCode.Unauthenticated, ExitCodes.Refused)]
    [InlineData(Grpc.Core.StatusCode.InvalidArgument, ExitCodes.Refused)]
    [InlineData(Grpc.Core.StatusCode.Internal, ExitCodes.Failed)]
    public void Coordinator_statuses_map_to_codes(Grpc.Core.StatusCode status, int code)
    {
        var error = new StringWriter();
        Assert.Equal(code, CliErrors.Report(new Grpc.Core.RpcException(new Grpc.Core.Status(status, "detail")), error));
        Assert.Equal($"error: {status}: detail" + Environment.NewLine, error.ToString());
    }
}
