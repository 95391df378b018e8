using System.CommandLine;
using System.Globalization;
using SecureFedRec.Crypto;
using SecureFedRec.Roster;

namespace SecureFedRec.Cli.Commands;

/// <summary>
/// <c>securefedrec roster init|add|revoke|sign|verify</c>: the enrolment authority's tool (<c>protocol-spec/roster.md</c>).
/// The authority key stays on the machine that runs <c>init</c> and <c>sign</c>; drafts and signed rosters are public.
/// Exit codes (Cli/ExitCodes.cs): 0 success, 2 usage error or a missing/unreadable input file, 7 an output folder that
/// cannot be written, 8 a roster refused (the refusal name and detail on stderr).
/// </summary>
internal static class RosterCommand
{
    private const int Ok = ExitCodes.Ok;
    private const int Error = ExitCodes.Usage;
    private const int Refused = ExitCodes.VerificationFailed;

    public static Command Create()
    {
        var roster = new Command("roster", "Enrolment authority: create, edit, sign and verify the signed member roster clients pin.");
        roster.Subcommands.Add(Init());
        roster.Subcommands.Add(Add());
        roster.Subcommands.Add(Revoke());
        roster.Subcommands.Add(Sign());
        roster.Subcommands.Add(Verify());
        return roster;
    }

    private const string IdentifierRule = "1..64 characters of [a-z0-9._-], starting with a letter or digit";
    private const string TimeRule = "yyyy-MM-ddTHH:mm:ssZ (UTC), e.g. 2026-01-31T12:00:00Z";

    private static Option<FileInfo> DraftOption() => new("--draft") { Description = "The unsigned draft roster (JSON).", Required = true };

    /// <summary>An identifier flag (consortium, organisation, client id): refused at parse time, before any file is read.</summary>
    private static Option<string> IdentifierOption(string name, string description)
    {
        var option = new Option<string>(name) { Description = description, Required = true };
        option.Validators.Add(r =>
        {
            string? value = r.GetValueOrDefault<string>();
            if (!RosterEncoding.IsIdentifier(value))
            {
                r.AddError($"{name} must be {IdentifierRule}, got '{value}'.");
            }
        });
        return option;
    }

    /// <summary>A signature-suite flag: ed25519 or ecdsa-p256-sha256.</summary>
    internal static Option<string> SuiteOption(string description)
    {
        var option = new Option<string>("--suite") { Description = description, DefaultValueFactory = _ => "ed25519" };
        option.Validators.Add(r =>
        {
            string? value = r.GetValueOrDefault<string>();
            if (!IdentitySignature.TryParse(value, out _))
            {
                r.AddError($"--suite must be ed25519 or ecdsa-p256-sha256, got '{value}'.");
            }
        });
        return option;
    }

    /// <summary>An optional time flag in the roster's one time format.</summary>
    private static Option<string?> TimeOption(string name, string description)
    {
        var option = new Option<string?>(name) { Description = description };
        option.Validators.Add(r =>
        {
            string? value = r.GetValueOrDefault<string?>();
            if (value is not null && !RosterFile.TryParseTime(value, out _))
            {
                r.AddError($"{name} must be {TimeRule}, got '{value}'.");
            }
        });
        return option;
    }

    /// <summary>An input file flag: the file must exist (named with its flag), checked before anything runs.</summary>
    private static T ExistingFile<T>(T option)
        where T : Option
    {
        option.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<FileInfo?>() is { } file && !File.Exists(file.FullName))
            {
                r.AddError($"{option.Name}: no file at {file.FullName}.");
            }
        });
        return option;
    }

    /// <summary>The folder a new file will be written into must exist: refused before any key or draft is written.</summary>
    private static string? MissingFolder(string flag, string path)
    {
        string? folder = Path.GetDirectoryName(path);
        return folder is not null && !Directory.Exists(folder) ? $"{flag}: the folder {folder} does not exist." : null;
    }

    private static Command Init()
    {
        var consortium = IdentifierOption("--consortium", "Consortium identifier ([a-z0-9._-], 1..64).");
        var key = new Option<FileInfo>("--authority-key") { Description = "Authority private key file: created (mode 0600, never overwritten) unless --existing-key.", Required = true };
        var existing = new Option<bool>("--existing-key") { Description = "Use the authority key already at --authority-key instead of creating one." };
        var suite = SuiteOption("ed25519 (default) or ecdsa-p256-sha256 (FIPS).");
        var draft = DraftOption();
        var command = new Command("init", "Create the authority key and an empty draft roster (version 1). Prints the authority pin for clients.");
        command.Options.Add(consortium);
        command.Options.Add(key);
        command.Options.Add(existing);
        command.Options.Add(suite);
        command.Options.Add(draft);
        command.SetAction(parse => Guard(() =>
        {
            if (!IdentitySignature.TryParse(parse.GetValue(suite), out IdentitySuite chosen))
            {
                return Fail("--suite must be ed25519 or ecdsa-p256-sha256.");
            }

            string name = parse.GetValue(consortium)!;
            if (!RosterEncoding.IsIdentifier(name))
            {
                return Fail($"--consortium must be {IdentifierRule}.");
            }

            string keyPath = parse.GetValue(key)!.FullName;
            string draftPath = parse.GetValue(draft)!.FullName;
            if (File.Exists(draftPath))
            {
                return Fail($"--draft: {draftPath} exists; refusing to overwrite a draft.");
            }

            string? keyProblem = parse.GetValue(existing)
                ? (File.Exists(keyPath) ? null : $"--authority-key: no key at {keyPath} (drop --existing-key to create one).")
                : MissingFolder("--authority-key", keyPath);
            if (keyProblem is not null)
            {
                return Fail(keyProblem);
            }

            if (MissingFolder("--draft", draftPath) is { } draftProblem)
            {
                return Fail(draftProblem);
            }

            using IdentitySigningKey authority = parse.GetValue(existing) ? ReadKey("--authority-key", keyPath) : IdentitySigningKey.Generate(chosen);
            if (!parse.GetValue(existing))
            {
                Write("--authority-key", () => IdentityKeyFile.Write(keyPath, authority));
            }

            RosterContent content = RosterAuthority.CreateDraft(name, authority, DateTimeOffset.UtcNow);
            Write("--draft", () => SafeFile.CreateNew(draftPath, RosterFile.Format(new RosterDocument(content, ReadOnlyMemory<byte>.Empty)), secret: false));
            Console.WriteLine($"authority key: {keyPath}");
            Console.WriteLine($"draft:         {draftPath}");
            Console.WriteLine($"authority pin (Coordinator:Roster:Authority and Client:RosterAuthority): {Pin(authority.Suite, authority.PublicKey)}");
            return Ok;
        }));
        return command;
    }

    private static Command Add()
    {
        var draft = DraftOption();
        var organisation = IdentifierOption("--organisation", "Organisation identifier.");
        var clientId = IdentifierOption("--client-id", "Client identifier (unique within the organisation).");
        var publicKey = new Option<string?>("--public-key") { Description = "SUITE:HEX or HEX (with --suite) of the member's identity public key." };
        var publicKeyFile = ExistingFile(new Option<FileInfo?>("--public-key-file") { Description = "A NAME.pub written by `keygen identity` (\"SUITE HEX\")." });
        var suite = SuiteOption("Suite of a bare-hex --public-key.");
        var notBefore = TimeOption("--not-before", "yyyy-MM-ddTHH:mm:ssZ (default: now).");
        var notAfter = TimeOption("--not-after", "yyyy-MM-ddTHH:mm:ssZ (default: --valid-days after --not-before).");
        var validDays = new Option<int>("--valid-days") { Description = "Membership validity in days when --not-after is not given.", DefaultValueFactory = _ => 365 };
        var command = new Command("add", "Add a member (organisation, client id, identity key, validity) to the draft.");
        foreach (Option o in new Option[] { draft, organisation, clientId, publicKey, publicKeyFile, suite, notBefore, notAfter, validDays })
        {
            command.Options.Add(o);
        }

        command.SetAction(parse => Guard(() =>
        {
            string? keyText = parse.GetValue(publicKey);
            FileInfo? keyFile = parse.GetValue(publicKeyFile);
            if ((keyText is null) == (keyFile is null))
            {
                return Fail("give exactly one of --public-key and --public-key-file.");
            }

            if (keyFile is not null)
            {
                keyText = Read("--public-key-file", () => System.Text.Encoding.UTF8.GetString(SafeFile.ReadAll(keyFile.FullName, 4096))).Trim().Replace(' ', ':');
            }

            string[] parts = keyText!.Split(':');
            string suiteName = parts.Length == 2 ? parts[0] : parse.GetValue(suite)!;
            if (parts.Length > 2 || !IdentitySignature.TryParse(suiteName, out IdentitySuite keySuite) || !RosterFile.TryParseHex(parts[^1], out byte[] key)
                || !IdentitySignature.IsValidPublicKey(keySuite, key))
            {
                return Fail(keyFile is null
                    ? "--public-key must be SUITE:HEX or lowercase HEX with --suite (ed25519 | ecdsa-p256-sha256): a valid public key of that suite."
                    : $"--public-key-file: {keyFile.FullName} does not hold \"SUITE HEX\" of a valid public key (write it with `keygen identity`).");
            }

            DateTimeOffset start = RosterAuthority.TruncateToSecond(DateTimeOffset.UtcNow);
            if (parse.GetValue(notBefore) is { } nb && !RosterFile.TryParseTime(nb, out start))
            {
                return Fail($"--not-before must be {TimeRule}.");
            }

            DateTimeOffset end = start.AddDays(parse.GetValue(validDays));
            if (parse.GetValue(notAfter) is { } na && !RosterFile.TryParseTime(na, out end))
            {
                return Fail($"--not-after must be {TimeRule}.");
            }

            if (end <= start)
            {
                return Fail($"--not-after ({RosterFile.FormatTime(end)}) must be after --not-before ({RosterFile.FormatTime(start)}).");
            }

            // The flags are checked before the draft is read: a wrong value is named even when the draft is wrong too.
            if (!ReadDraft(parse.GetValue(draft)!.FullName, out RosterContent? content, out int status))
            {
                return status;
            }

            var member = new RosterMember(parse.GetValue(organisation)!, parse.GetValue(clientId)!, keySuite, key, start, end);
            RosterCheck check = RosterAuthority.AddMember(content!, member, out RosterContent updated);
            if (!check.Passed)
            {
                return Refuse(check);
            }

            WriteDraft(parse.GetValue(draft)!.FullName, updated);
            Console.WriteLine($"added {member.Name} ({IdentitySignature.NameOf(keySuite)}), valid {RosterFile.FormatTime(start)} .. {RosterFile.FormatTime(end)}; {updated.Members.Count} members");
            return Ok;
        }));
        return command;
    }

    private static Command Revoke()
    {
        var draft = DraftOption();
        var organisation = IdentifierOption("--organisation", "Organisation identifier.");
        var clientId = IdentifierOption("--client-id", "Client identifier.");
        var at = TimeOption("--at", "Revocation time yyyy-MM-ddTHH:mm:ssZ (default: now).");
        var command = new Command("revoke", "Remove a member from the draft and list its key as revoked (a revoked key can never be re-added).");
        command.Options.Add(draft);
        command.Options.Add(organisation);
        command.Options.Add(clientId);
        command.Options.Add(at);
        command.SetAction(parse => Guard(() =>
        {
            if (!ReadDraft(parse.GetValue(draft)!.FullName, out RosterContent? content, out int status))
            {
                return status;
            }

            DateTimeOffset when = RosterAuthority.TruncateToSecond(DateTimeOffset.UtcNow);
            if (parse.GetValue(at) is { } text && !RosterFile.TryParseTime(text, out when))
            {
                return Fail($"--at must be {TimeRule}.");
            }

            RosterCheck check = RosterAuthority.Revoke(content!, parse.GetValue(organisation)!, parse.GetValue(clientId)!, when, out RosterContent updated);
            if (!check.Passed)
            {
                return Refuse(check);
            }

            WriteDraft(parse.GetValue(draft)!.FullName, updated);
            Console.WriteLine($"revoked {parse.GetValue(organisation)}/{parse.GetValue(clientId)} at {RosterFile.FormatTime(when)}; {updated.Members.Count} members, {updated.Revocations.Count} revocations");
            return Ok;
        }));
        return command;
    }

    private static Command Sign()
    {
        var draft = DraftOption();
        var key = ExistingFile(new Option<FileInfo>("--authority-key") { Description = "The authority private key file.", Required = true });
        var output = new Option<FileInfo>("--out") { Description = "The signed roster to publish (replaced atomically; refused if it holds a newer or equal version).", Required = true };
        var validDays = new Option<int>("--valid-days") { Description = "Roster validity from now, in days (clients refuse an expired roster).", DefaultValueFactory = _ => 30 };
        var command = new Command("sign", "Sign the draft as roster version N (the draft's version), valid from now, then bump the draft to N + 1.");
        command.Options.Add(draft);
        command.Options.Add(key);
        command.Options.Add(output);
        command.Options.Add(validDays);
        command.SetAction(parse => Guard(() =>
        {
            string draftPath = parse.GetValue(draft)!.FullName;
            if (!ReadDraft(draftPath, out RosterContent? content, out int status))
            {
                return status;
            }

            int days = parse.GetValue(validDays);
            if (days is < 1 or > 3650)
            {
                return Fail("--valid-days must be in [1, 3650].");
            }

            string outPath = parse.GetValue(output)!.FullName;
            if (File.Exists(outPath) && RosterFile.TryParse(File.ReadAllBytes(outPath), out RosterDocument? previous).Passed && previous!.Content.Version >= content!.Version)
            {
                return Fail($"--out: {outPath} already holds version {previous.Content.Version} ≥ the draft's {content.Version}: signing would roll clients back.");
            }

            using IdentitySigningKey authority = ReadKey("--authority-key", parse.GetValue(key)!.FullName);
            DateTimeOffset now = RosterAuthority.TruncateToSecond(DateTimeOffset.UtcNow);
            RosterContent toSign = content! with { NotBefore = now, NotAfter = now.AddDays(days) };
            RosterDocument signed;
            try
            {
                signed = RosterAuthority.Sign(toSign, authority);
            }
            catch (ArgumentException ex)
            {
                return Fail(ex.Message);
            }

            Write("--out", () => SafeFile.Replace(outPath, RosterFile.Format(signed), secret: false));
            WriteDraft(draftPath, content with { Version = content.Version + 1 });
            Console.WriteLine($"signed roster version {toSign.Version}: {toSign.Members.Count} members, {toSign.Revocations.Count} revocations, valid until {RosterFile.FormatTime(toSign.NotAfter)}");
            Console.WriteLine($"digest:        {RosterEncoding.Digest(toSign)}");
            Console.WriteLine($"authority pin: {Pin(authority.Suite, authority.PublicKey)}");
            Console.WriteLine($"wrote {outPath}; the draft is now version {toSign.Version + 1}");
            return Ok;
        }));
        return command;
    }

    private static Command Verify()
    {
        var file = ExistingFile(new Option<FileInfo>("--roster") { Description = "The signed roster.", Required = true });
        var authority = new Option<string>("--authority") { Description = "The pinned authority key, SUITE:HEX.", Required = true };
        var lastSeen = new Option<string?>("--last-seen") { Description = "VERSION:DIGEST of the last roster accepted (refuses rollback and equivocation)." };
        var now = TimeOption("--now", "Verify as of this time, yyyy-MM-ddTHH:mm:ssZ (default: now).");
        var fips = new Option<bool>("--fips") { Description = "Allow only ecdsa-p256-sha256 keys." };
        var member = new Option<string?>("--member") { Description = "Also check one member, ORGANISATION/CLIENT-ID." };
        member.Validators.Add(r =>
        {
            string? value = r.GetValueOrDefault<string?>();
            if (value is not null && (value.Split('/') is not [string o, string c] || !RosterEncoding.IsIdentifier(o) || !RosterEncoding.IsIdentifier(c)))
            {
                r.AddError($"--member must be ORGANISATION/CLIENT-ID, each {IdentifierRule}, got '{value}'.");
            }
        });
        var command = new Command("verify", "Verify a signed roster against the pinned authority key; exit 0 when accepted, 8 with the refusal named.");
        foreach (Option o in new Option[] { file, authority, lastSeen, now, fips, member })
        {
            command.Options.Add(o);
        }

        command.SetAction(parse => Guard(() =>
        {
            string[] pin = parse.GetValue(authority)!.Split(':');
            if (pin.Length != 2 || !IdentitySignature.TryParse(pin[0], out IdentitySuite suite) || !RosterFile.TryParseHex(pin[1], out byte[] key)
                || !IdentitySignature.IsValidPublicKey(suite, key))
            {
                return Fail("--authority must be SUITE:HEX of a valid public key, e.g. ed25519:<64 lowercase hex digits>.");
            }

            RosterCheckpoint? checkpoint = null;
            if (parse.GetValue(lastSeen) is { } seen)
            {
                string[] parts = seen.Split(':');
                if (parts.Length != 2 || !ulong.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out ulong version) || !RosterFile.TryParseHex(parts[1], out byte[] digest) || digest.Length != 32)
                {
                    return Fail("--last-seen must be VERSION:DIGEST (decimal version, 64 lowercase hex digits).");
                }

                checkpoint = new RosterCheckpoint(version, parts[1]);
            }

            DateTimeOffset at = DateTimeOffset.UtcNow;
            if (parse.GetValue(now) is { } text && !RosterFile.TryParseTime(text, out at))
            {
                return Fail($"--now must be {TimeRule}.");
            }

            IReadOnlySet<IdentitySuite>? allowed = parse.GetValue(fips) ? new HashSet<IdentitySuite> { IdentitySuite.EcdsaP256Sha256 } : null;
            RosterVerifier verifier;
            try
            {
                verifier = new RosterVerifier(suite, key, allowed);
            }
            catch (ArgumentException)
            {
                return Fail("the pinned authority key's suite is not allowed (--fips allows only ecdsa-p256-sha256).");
            }

            byte[] bytes = Read("--roster", () => SafeFile.ReadAll(parse.GetValue(file)!.FullName, RosterFile.MaxFileBytes));
            RosterVerification result = verifier.Verify(bytes, at, checkpoint);
            if (!result.Check.Passed)
            {
                return Refuse(result.Check);
            }

            VerifiedRoster verified = result.Roster!;
            Console.WriteLine($"ok: roster {verified.Content.Consortium} version {verified.Version}, {verified.Content.Members.Count} members in {verified.Organisations} organisations, {verified.Content.Revocations.Count} revocations, valid until {RosterFile.FormatTime(verified.Content.NotAfter)}");
            Console.WriteLine($"checkpoint (pass as --last-seen next time): {verified.Version}:{verified.Digest}");
            if (parse.GetValue(member) is { } name)
            {
                string[] m = name.Split('/');
                if (m.Length != 2)
                {
                    return Fail("--member must be ORGANISATION/CLIENT-ID.");
                }

                RosterCheck check = verified.CheckMember(m[0], m[1], at, default, out _);
                if (!check.Passed)
                {
                    return Refuse(check);
                }

                Console.WriteLine($"member {name}: ok");
            }

            return Ok;
        }));
        return command;
    }

    private static bool ReadDraft(string path, out RosterContent? content, out int status)
    {
        content = null;
        status = Ok;
        if (!File.Exists(path))
        {
            status = Fail($"--draft: no draft at {path} (create one with `roster init`).");
            return false;
        }

        RosterCheck check = RosterFile.TryParse(Read("--draft", () => SafeFile.ReadAll(path, RosterFile.MaxFileBytes)), out RosterDocument? document);
        if (check.Passed)
        {
            check = RosterEncoding.Validate(document!.Content);
        }

        if (!check.Passed)
        {
            status = Refuse(check);
            return false;
        }

        content = document!.Content;
        return true;
    }

    private static void WriteDraft(string path, RosterContent content) =>
        Write("--draft", () => SafeFile.Replace(path, RosterFile.Format(new RosterDocument(content, ReadOnlyMemory<byte>.Empty)), secret: false));

    /// <summary>Reads the file named by <paramref name="flag"/>: a missing, unreadable or linked file is a usage error naming the flag.</summary>
    private static T Read<T>(string flag, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CommandFailure(ExitCodes.Usage, $"{flag}: {ex.Message}", ex);
        }
    }

    private static IdentitySigningKey ReadKey(string flag, string path)
    {
        try
        {
            return Read(flag, () => IdentityKeyFile.Read(path));
        }
        catch (ArgumentException ex)
        {
            string message = ex.ParamName is { } p ? ex.Message.Replace($" (Parameter '{p}')", string.Empty, StringComparison.Ordinal) : ex.Message;
            throw new CommandFailure(ExitCodes.Usage, $"{flag}: {message}", ex);
        }
    }

    /// <summary>
    /// Writes the file named by <paramref name="flag"/>: an existing file or a link where a new file must go is a usage
    /// error; a folder that cannot be written is <see cref="ExitCodes.StoreUnavailable"/>, both naming the flag.
    /// </summary>
    private static void Write(string flag, Action write)
    {
        try
        {
            write();
        }
        catch (UnsafeOutputPathException ex)
        {
            throw new CommandFailure(ExitCodes.Usage, $"{flag}: {ex.Message}", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CommandFailure(ExitCodes.StoreUnavailable, $"{flag}: cannot write: {ex.Message}", ex);
        }
    }

    /// <summary>A failure already worded for the operator, with its exit code.</summary>
    private sealed class CommandFailure(int code, string message, Exception inner) : Exception(message, inner)
    {
        public int Code { get; } = code;
    }

    private static string Pin(IdentitySuite suite, ReadOnlySpan<byte> key) => IdentitySignature.NameOf(suite) + ":" + Convert.ToHexStringLower(key);

    private static int Fail(string message)
    {
        Console.Error.WriteLine("error: " + message);
        return Error;
    }

    private static int Refuse(RosterCheck check)
    {
        Console.Error.WriteLine($"refused: {check.Refusal}: {check.Detail}");
        return Refused;
    }

    private static int Guard(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (CommandFailure ex)
        {
            Console.Error.WriteLine("error: " + ex.Message);
            return ex.Code;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return Fail(ex.Message);
        }
    }
}
