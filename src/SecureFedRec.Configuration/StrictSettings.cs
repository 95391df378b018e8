using System.ComponentModel.DataAnnotations;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.CommandLine;
using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.Configuration.Memory;

namespace SecureFedRec.Configuration;

/// <summary>
/// Strict reading of one settings section: every key must be a setting of the type (an unknown key is a problem that
/// names the nearest known key), every value must be readable as its setting's type, and after binding every
/// per-value attribute and every <see cref="ISettingsRules"/> rule is checked. All problems are reported together.
/// </summary>
/// <remarks>
/// Keys compare case-insensitively, as in <c>ConfigurationBinder</c>. Stateless and thread-safe. Used through
/// <see cref="SettingsLoader"/> or <see cref="StrictOptionsExtensions.BindStrictly{T}"/> (the options pattern).
/// </remarks>
public static class StrictSettings
{
    /// <summary>
    /// Reports unknown keys and unreadable values of the section <paramref name="schema"/> describes in <paramref name="root"/>,
    /// and unknown top-level sections (anything at the top other than the schema's first part and
    /// <paramref name="otherTopLevelSections"/>, e.g. <c>Logging</c>).
    /// </summary>
    public static void CheckKeys(IConfiguration root, SettingNode schema, SettingsProblems problems, IEnumerable<string>? otherTopLevelSections = null, string environmentPrefix = "")
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(problems);
        var sources = new SourceNames(root, environmentPrefix);
        string top = schema.Path.Split(':')[0];
        var known = new HashSet<string>(otherTopLevelSections ?? [], StringComparer.OrdinalIgnoreCase) { top };
        List<string> all = [.. schema.DescendantsAndSelf().Select(n => n.Path), .. known];
        foreach (IConfigurationSection child in root.GetChildren())
        {
            // A flat PREFIX_NAME variable (no "__") is not a section path: the prefix is shared with the tools' own
            // switches (SECUREFEDREC_TRACE, SECUREFEDREC_TEST_PG), so only sections are checked at the top.
            bool flatEnvironmentValue = child.Value is not null && !child.GetChildren().Any() && sources.IsEnvironmentOnly(child.Key);
            if (!known.Contains(child.Key) && !flatEnvironmentValue)
            {
                problems.AddSentence(Unknown(child.Key, child.Key, all, known, sources));
            }
        }

        IConfigurationSection section = root.GetSection(schema.Path);
        if (section.Value is not null && !section.GetChildren().Any())
        {
            problems.AddMalformed(schema.Path, $"is a section, not a single value{sources.Of(schema.Path)}.");
            return;
        }

        CheckSection(section, schema, problems, all, sources);
    }

    /// <summary>
    /// Binds the readable values of <paramref name="schema"/>'s section into <paramref name="target"/>: unknown keys and
    /// unreadable values are left out (they were reported by <see cref="CheckKeys"/>), so binding never throws.
    /// </summary>
    public static void BindReadable(IConfiguration root, SettingNode schema, object target)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(target);
        var readable = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        Collect(root.GetSection(schema.Path), schema, readable);
        new ConfigurationBuilder().AddInMemoryCollection(readable).Build().GetSection(schema.Path).Bind(target);
    }

    /// <summary>Checks every attribute rule and every <see cref="ISettingsRules"/> rule of <paramref name="settings"/> and its sections.</summary>
    public static void CheckRules(object settings, SettingNode schema, SettingsProblems problems)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(problems);
        foreach (SettingNode node in schema.Children)
        {
            object? value = node.Property!.GetValue(settings);
            if (problems.IsMalformed(node.Path))
            {
                continue;
            }

            if (node.Kind == SettingKind.Section)
            {
                if (value is not null)
                {
                    CheckRules(value, node, problems);
                }

                continue;
            }

            foreach (ValidationAttribute attribute in node.Property.GetCustomAttributes(typeof(ValidationAttribute), inherit: true).Cast<ValidationAttribute>())
            {
                if (!attribute.IsValid(value))
                {
                    problems.Add(node.Path, Explain(attribute, value));
                }
            }
        }

        if (settings is ISettingsRules rules)
        {
            rules.CheckRules(schema.Path, problems);
        }
    }

    /// <summary>The sentence for an attribute rule that <paramref name="value"/> breaks.</summary>
    public static string Explain(ValidationAttribute attribute, object? value)
    {
        ArgumentNullException.ThrowIfNull(attribute);
        string shown = value is null ? "empty" : "'" + SettingNode.FormatValue(value) + "'";
        return attribute switch
        {
            RequiredAttribute => "is required (it is empty).",
            RangeAttribute r => $"{shown} is out of range: {RangeText(r)}.",
            AllowedValuesAttribute a => $"{shown} is not allowed: use one of {string.Join(", ", a.Values.Select(SettingNode.FormatValue))}.",
            MaxLengthAttribute m => $"is longer than {m.Length}.",
            _ => attribute.FormatErrorMessage("value"),
        };
    }

    /// <summary>How a range reads, e.g. <c>must be in [1, 3600]</c> or <c>must be &gt; 0</c>.</summary>
    public static string RangeText(RangeAttribute range)
    {
        ArgumentNullException.ThrowIfNull(range);
        string min = SettingNode.FormatValue(range.Minimum);
        string max = SettingNode.FormatValue(range.Maximum);
        bool noMax = range.Maximum is double d && double.IsPositiveInfinity(d) || range.Maximum is int i && i == int.MaxValue || range.Maximum is long l && l == long.MaxValue;
        if (noMax)
        {
            return (range.MinimumIsExclusive ? "must be > " : "must be ≥ ") + min;
        }

        return $"must be in {(range.MinimumIsExclusive ? "(" : "[")}{min}, {max}{(range.MaximumIsExclusive ? ")" : "]")}";
    }

    private static void CheckSection(IConfigurationSection section, SettingNode schema, SettingsProblems problems, List<string> all, SourceNames sources)
    {
        foreach (IConfigurationSection child in section.GetChildren())
        {
            SettingNode? node = schema.Find(child.Key);
            if (node is null)
            {
                problems.AddSentence(Unknown(schema.Path + ":" + child.Key, child.Key, all, schema.Children.Select(c => c.Key), sources));
                continue;
            }

            bool hasChildren = child.GetChildren().Any();
            switch (node.Kind)
            {
                case SettingKind.Value when hasChildren:
                    problems.AddMalformed(node.Path, $"is a single value ({SettingNode.Describe(node.ValueType)}), not a section{sources.Of(child.Path)}.");
                    break;
                case SettingKind.Value when child.Value is not null && !SettingNode.TryConvert(node.ValueType, child.Value, out _):
                    problems.AddMalformed(node.Path, $"'{child.Value}' is not {SettingNode.Describe(node.ValueType)}{sources.Of(child.Path)}.");
                    break;
                case SettingKind.Section when !hasChildren && !string.IsNullOrEmpty(child.Value):
                    problems.AddMalformed(node.Path, $"is a section (keys {string.Join(", ", node.Children.Select(c => c.Key))}), not a single value{sources.Of(child.Path)}.");
                    break;
                case SettingKind.Section:
                    CheckSection(child, node, problems, all, sources);
                    break;
                case SettingKind.List when !hasChildren && !string.IsNullOrEmpty(child.Value):
                    problems.AddMalformed(node.Path, $"is a list: write a JSON array, or {node.Path}:0, {node.Path}:1, … ({sources.EnvironmentName(node.Path + ":0")}, …){sources.Of(child.Path)}.");
                    break;
                case SettingKind.List:
                    foreach (IConfigurationSection item in child.GetChildren())
                    {
                        string itemPath = node.Path + ":" + item.Key;
                        if (!int.TryParse(item.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                        {
                            problems.AddMalformed(node.Path, $"is a list; '{item.Key}' is not an index (0, 1, …){sources.Of(item.Path)}.");
                        }
                        else if (item.GetChildren().Any() || (item.Value is not null && !SettingNode.TryConvert(node.ValueType, item.Value, out _)))
                        {
                            problems.AddMalformed(node.Path, $"item {item.Key} '{item.Value}' is not {SettingNode.Describe(node.ValueType)}{sources.Of(itemPath)}.");
                        }
                    }

                    break;
            }
        }
    }

    private static void Collect(IConfigurationSection section, SettingNode schema, Dictionary<string, string?> readable)
    {
        foreach (IConfigurationSection child in section.GetChildren())
        {
            SettingNode? node = schema.Find(child.Key);
            if (node is null)
            {
                continue;
            }

            bool hasChildren = child.GetChildren().Any();
            switch (node.Kind)
            {
                case SettingKind.Value when !hasChildren && child.Value is not null && SettingNode.TryConvert(node.ValueType, child.Value, out _):
                    readable[node.Path] = child.Value;
                    break;
                case SettingKind.Section when hasChildren:
                    Collect(child, node, readable);
                    break;
                case SettingKind.List when hasChildren:
                    bool allReadable = child.GetChildren().All(item => int.TryParse(item.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _)
                        && !item.GetChildren().Any() && item.Value is not null && SettingNode.TryConvert(node.ValueType, item.Value, out _));
                    if (allReadable)
                    {
                        foreach (IConfigurationSection item in child.GetChildren())
                        {
                            readable[node.Path + ":" + item.Key] = item.Value;
                        }
                    }

                    break;
            }
        }
    }

    /// <summary>The sentence for an unknown key, with the nearest known key when one is close, else the keys allowed there.</summary>
    private static string Unknown(string path, string key, List<string> allPaths, IEnumerable<string> siblings, SourceNames sources)
    {
        string? nearest = Nearest(path, key, allPaths);
        string where = sources.Of(path);
        if (nearest is not null)
        {
            return $"{path} is not a setting{where}; did you mean {nearest}?";
        }

        string parent = path.Contains(':', StringComparison.Ordinal) ? path[..path.LastIndexOf(':')] : string.Empty;
        string[] allowed = [.. siblings.Order(StringComparer.Ordinal)];
        return parent.Length == 0
            ? $"{path} is not a section of this program{where}; the sections are {string.Join(", ", allowed)}."
            : $"{path} is not a setting{where}; the settings of {parent} are {string.Join(", ", allowed)}.";
    }

    /// <summary>
    /// The known path nearest to <paramref name="path"/>: the smallest edit distance over whole paths (case-insensitive)
    /// within max(2, ⌊|key|/3⌋), else a known setting of the same name elsewhere (a key written in the wrong section),
    /// else one whose name starts with the unknown one or the other way round; null when nothing is close.
    /// </summary>
    public static string? Nearest(string path, string key, IReadOnlyList<string> knownPaths)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(knownPaths);
        int limit = Math.Max(2, key.Length / 3);
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (string candidate in knownPaths)
        {
            int d = EditDistance.Between(path.ToUpperInvariant(), candidate.ToUpperInvariant());
            if (d < bestDistance)
            {
                (best, bestDistance) = (candidate, d);
            }
        }

        if (best is not null && bestDistance <= limit)
        {
            return best;
        }

        string? sameName = knownPaths.FirstOrDefault(c => string.Equals(Leaf(c), key, StringComparison.OrdinalIgnoreCase));
        if (sameName is not null)
        {
            return sameName;
        }

        string parent = path.Contains(':', StringComparison.Ordinal) ? path[..(path.LastIndexOf(':') + 1)] : string.Empty;
        return key.Length < 4 ? null : knownPaths.FirstOrDefault(c => c.StartsWith(parent, StringComparison.OrdinalIgnoreCase)
            && !c[parent.Length..].Contains(':', StringComparison.Ordinal)
            && (Leaf(c).StartsWith(key, StringComparison.OrdinalIgnoreCase) || key.StartsWith(Leaf(c), StringComparison.OrdinalIgnoreCase)));
    }

    private static string Leaf(string path) => path[(path.LastIndexOf(':') + 1)..];

    /// <summary>Names the configuration source that set a key, for messages (" (in coordinator.json)").</summary>
    private sealed class SourceNames(IConfiguration root, string environmentPrefix)
    {
        public string EnvironmentName(string path) => environmentPrefix + path.Replace(":", "__", StringComparison.Ordinal);

        public bool IsEnvironmentOnly(string key) =>
            root is IConfigurationRoot r && r.Providers.Where(p => p.TryGet(key, out _)).All(p => p is EnvironmentVariablesConfigurationProvider)
            && r.Providers.Any(p => p.TryGet(key, out _));

        public string Of(string path)
        {
            if (root is not IConfigurationRoot r)
            {
                return string.Empty;
            }

            int cut = path.LastIndexOf(':');
            string? parent = cut < 0 ? null : path[..cut];
            string key = path[(cut + 1)..];
            foreach (IConfigurationProvider provider in r.Providers.Reverse())
            {
                bool sets = provider.TryGet(path, out _) || provider.GetChildKeys([], parent).Contains(key, StringComparer.OrdinalIgnoreCase);
                if (!sets)
                {
                    continue;
                }

                return provider switch
                {
                    JsonConfigurationProvider json => $" (in {json.Source.Path})",
                    EnvironmentVariablesConfigurationProvider => $" (environment variable {EnvironmentName(path)})",
                    CommandLineConfigurationProvider => " (command line)",
                    MemoryConfigurationProvider => " (command-line option)",
                    _ => string.Empty,
                };
            }

            return string.Empty;
        }
    }
}

/// <summary>Levenshtein distance (insert, delete, substitute: cost 1 each).</summary>
internal static class EditDistance
{
    public static int Between(string a, string b)
    {
        if (a.Length == 0 || b.Length == 0)
        {
            return Math.Max(a.Length, b.Length);
        }

        Span<int> previous = a.Length + 1 <= 256 ? stackalloc int[a.Length + 1] : new int[a.Length + 1];
        Span<int> current = a.Length + 1 <= 256 ? stackalloc int[a.Length + 1] : new int[a.Length + 1];
        for (int i = 0; i <= a.Length; i++)
        {
            previous[i] = i;
        }

        for (int j = 1; j <= b.Length; j++)
        {
            current[0] = j;
            for (int i = 1; i <= a.Length; i++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[i] = Math.Min(Math.Min(current[i - 1] + 1, previous[i] + 1), previous[i - 1] + cost);
            }

            Span<int> swap = previous;
            previous = current;
            current = swap;
        }

        return previous[a.Length];
    }
}
