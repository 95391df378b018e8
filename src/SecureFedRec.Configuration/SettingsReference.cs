using System.ComponentModel.DataAnnotations;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace SecureFedRec.Configuration;

/// <summary>
/// The reference table of a settings type, generated from the type itself: every key with its full path, what it
/// holds, its default (from a new instance), its allowed range or values (from the validation attributes) and its
/// description (the property's XML documentation summary, read from the assembly's documentation file).
/// </summary>
/// <remarks>Deterministic (same types, same text), so a test can tell when the checked-in table is stale.</remarks>
public static partial class SettingsReference
{
    /// <summary>A Markdown table of every value and list setting of <paramref name="type"/> bound at <paramref name="sectionPath"/>.</summary>
    public static string MarkdownTable([DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties | DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] Type type, string sectionPath)
    {
        ArgumentNullException.ThrowIfNull(type);
        SettingNode schema = SettingNode.Describe(type, sectionPath);
        object defaults = Activator.CreateInstance(type)!;
        var docs = new DocumentationCache();
        var text = new StringBuilder();
        text.Append("| key | value | default | allowed | meaning |\n|---|---|---|---|---|\n");
        AppendRows(text, schema, defaults, docs);
        return text.ToString();
    }

    private static void AppendRows(StringBuilder text, SettingNode section, object? defaults, DocumentationCache docs)
    {
        foreach (SettingNode node in section.Children)
        {
            object? value = defaults is null ? null : node.Property!.GetValue(defaults);
            if (node.Kind == SettingKind.Section)
            {
                object? sectionDefaults = value ?? (node.ValueType.GetConstructor(Type.EmptyTypes) is null ? null : Activator.CreateInstance(node.ValueType));
                text.Append(CultureInvariant($"| `{node.Path}` | section | {(value is null ? "absent" : string.Empty)} | | {Cell(docs.Summary(node.Property!))} |\n"));
                AppendRows(text, node, sectionDefaults, docs);
                continue;
            }

            string kind = node.Kind == SettingKind.List ? "list of " + SettingNode.Describe(node.ValueType) : SettingNode.Describe(node.ValueType);
            string shown = SettingNode.FormatValue(value);
            string allowed = string.Join("; ", node.Property!.GetCustomAttributes<ValidationAttribute>(inherit: true).Select(Allowed).Where(s => s.Length > 0));
            text.Append(CultureInvariant($"| `{node.Path}` | {kind} | {(shown.Length == 0 ? "—" : "`" + shown + "`")} | {allowed} | {Cell(docs.Summary(node.Property!))} |\n"));
        }
    }

    private static string CultureInvariant(FormattableString s) => FormattableString.Invariant(s);

    private static string Allowed(ValidationAttribute attribute) => attribute switch
    {
        RangeAttribute r => StrictSettings.RangeText(r).Replace("must be ", string.Empty, StringComparison.Ordinal),
        AllowedValuesAttribute a => string.Join(", ", a.Values.Select(v => "`" + SettingNode.FormatValue(v) + "`")),
        RequiredAttribute => "required",
        MaxLengthAttribute m => "at most " + m.Length.ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => string.Empty,
    };

    private static string Cell(string s) => s.Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);

    /// <summary>XML documentation summaries by member, turned into one line of Markdown.</summary>
    private sealed partial class DocumentationCache
    {
        private readonly Dictionary<Assembly, Dictionary<string, string>> _byAssembly = [];

        public string Summary(PropertyInfo property)
        {
            Assembly assembly = property.DeclaringType!.Assembly;
            if (!_byAssembly.TryGetValue(assembly, out Dictionary<string, string>? members))
            {
                members = Load(assembly);
                _byAssembly[assembly] = members;
            }

            string id = "P:" + property.DeclaringType.FullName!.Replace('+', '.') + "." + property.Name;
            return members.TryGetValue(id, out string? summary)
                ? summary
                : throw new InvalidOperationException($"No XML documentation for {id}: build {assembly.GetName().Name} with GenerateDocumentationFile.");
        }

        private static Dictionary<string, string> Load(Assembly assembly)
        {
            string file = Path.ChangeExtension(assembly.Location, ".xml");
            if (!File.Exists(file))
            {
                throw new InvalidOperationException($"The documentation file {file} is missing: the reference table is generated from it.");
            }

            var members = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (XElement member in XDocument.Load(file).Descendants("member"))
            {
                if (member.Attribute("name")?.Value is { } name && member.Element("summary") is { } summary)
                {
                    members[name] = Markdown(summary);
                }
            }

            return members;
        }

        private static string Markdown(XElement summary)
        {
            var text = new StringBuilder();
            foreach (XNode node in summary.Nodes())
            {
                text.Append(node switch
                {
                    XText t => t.Value,
                    XElement { Name.LocalName: "c" } c => "`" + c.Value + "`",
                    XElement { Name.LocalName: "see" } see => "`" + Short(see.Attribute("cref")?.Value ?? see.Attribute("langword")?.Value ?? see.Value) + "`",
                    XElement { Name.LocalName: "paramref" or "typeparamref" } p => "`" + p.Attribute("name")?.Value + "`",
                    XElement e => e.Value,
                    _ => string.Empty,
                });
            }

            return Spaces().Replace(text.ToString(), " ").Trim();
        }

        private static string Short(string cref)
        {
            string name = cref.Contains(':', StringComparison.Ordinal) ? cref[(cref.IndexOf(':') + 1)..] : cref;
            int paren = name.IndexOf('(', StringComparison.Ordinal);
            if (paren >= 0)
            {
                name = name[..paren];
            }

            return name[(name.LastIndexOf('.') + 1)..];
        }

        [GeneratedRegex(@"\s+")]
        private static partial Regex Spaces();
    }
}
