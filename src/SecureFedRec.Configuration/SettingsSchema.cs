using System.Collections;
using System.ComponentModel;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Reflection;

namespace SecureFedRec.Configuration;

/// <summary>What a configuration key holds.</summary>
public enum SettingKind
{
    /// <summary>One value (text, number, true/false, enum name).</summary>
    Value = 0,

    /// <summary>A nested section with keys of its own.</summary>
    Section = 1,

    /// <summary>A list of values (a JSON array; <c>KEY__0</c>, <c>KEY__1</c> in environment variables).</summary>
    List = 2,
}

/// <summary>
/// One setting of a settings type: its key, its kind, the CLR property it binds to and, for sections, its children.
/// Built by reflection over the public read/write (or, for lists, read-only) properties, exactly what
/// <c>ConfigurationBinder</c> binds, so the schema and the binder never disagree about which keys exist.
/// </summary>
public sealed class SettingNode
{
    private SettingNode(string key, string path, SettingKind kind, PropertyInfo? property, Type valueType, IReadOnlyList<SettingNode> children)
    {
        Key = key;
        Path = path;
        Kind = kind;
        Property = property;
        ValueType = valueType;
        Children = children;
    }

    /// <summary>The key (the property name, as spelled in the type).</summary>
    public string Key { get; }

    /// <summary>The full path, e.g. <c>Coordinator:Rounds:CohortSize</c>.</summary>
    public string Path { get; }

    /// <summary>Value, section or list.</summary>
    public SettingKind Kind { get; }

    /// <summary>The property bound (null for the root section).</summary>
    public PropertyInfo? Property { get; }

    /// <summary>The value type (for lists: the element type; for sections: the section type).</summary>
    public Type ValueType { get; }

    /// <summary>The settings of a section (empty otherwise).</summary>
    public IReadOnlyList<SettingNode> Children { get; }

    /// <summary>The schema of <paramref name="type"/> bound at <paramref name="path"/>.</summary>
    public static SettingNode Describe([DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)] Type type, string path)
    {
        ArgumentNullException.ThrowIfNull(type);
        ArgumentException.ThrowIfNullOrEmpty(path);
        return new SettingNode(path.Split(':')[^1], path, SettingKind.Section, null, type, DescribeChildren(type, path, 0));
    }

    /// <summary>The child with <paramref name="key"/> (case-insensitive, as the binder), or null.</summary>
    public SettingNode? Find(string key) => Children.FirstOrDefault(c => string.Equals(c.Key, key, StringComparison.OrdinalIgnoreCase));

    /// <summary>This node and every node below it, depth first.</summary>
    public IEnumerable<SettingNode> DescendantsAndSelf()
    {
        yield return this;
        foreach (SettingNode child in Children)
        {
            foreach (SettingNode node in child.DescendantsAndSelf())
            {
                yield return node;
            }
        }
    }

    /// <summary>Whether <paramref name="value"/> is readable as a value of <paramref name="type"/>, as the binder reads it.</summary>
    public static bool TryConvert(Type type, string value, out object? result)
    {
        ArgumentNullException.ThrowIfNull(type);
        ArgumentNullException.ThrowIfNull(value);
        Type target = Nullable.GetUnderlyingType(type) ?? type;
        result = null;
        if (target == typeof(string))
        {
            result = value;
            return true;
        }

        if (value.Length == 0)
        {
            return Nullable.GetUnderlyingType(type) is not null;
        }

        if (target.IsEnum)
        {
            // The binder accepts names (any case) and numbers; only defined values make sense here.
            if (Enum.TryParse(target, value, ignoreCase: true, out object? parsed) && Enum.IsDefined(target, parsed!))
            {
                result = parsed;
                return true;
            }

            return false;
        }

        TypeConverter converter = TypeDescriptor.GetConverter(target);
        try
        {
            result = converter.ConvertFromInvariantString(value);
            return true;
        }
        catch (Exception ex) when (ex is FormatException or NotSupportedException or ArgumentException or OverflowException || ex.InnerException is FormatException or OverflowException)
        {
            return false;
        }
    }

    /// <summary>How a value of <paramref name="type"/> is written, for messages and the reference table.</summary>
    public static string Describe(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        Type t = Nullable.GetUnderlyingType(type) ?? type;
        if (t.IsEnum)
        {
            return "one of " + string.Join(", ", Enum.GetNames(t));
        }

        return Type.GetTypeCode(t) switch
        {
            TypeCode.Boolean => "true or false",
            TypeCode.Byte or TypeCode.UInt16 or TypeCode.UInt32 or TypeCode.UInt64 => "a whole number ≥ 0",
            TypeCode.SByte or TypeCode.Int16 or TypeCode.Int32 or TypeCode.Int64 => "a whole number",
            TypeCode.Single or TypeCode.Double or TypeCode.Decimal => "a number",
            TypeCode.String => "text",
            _ => t == typeof(TimeSpan) ? "a duration (hh:mm:ss)" : t.Name,
        };
    }

    /// <summary>Formats a value the way it is written in a configuration file.</summary>
    public static string FormatValue(object? value) => value switch
    {
        null => string.Empty,
        bool b => b ? "true" : "false",
        string s => s,
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        IEnumerable e => "[" + string.Join(", ", e.Cast<object?>().Select(FormatValue)) + "]",
        _ => value.ToString() ?? string.Empty,
    };

    private static List<SettingNode> DescribeChildren(Type type, string path, int depth)
    {
        if (depth > 8)
        {
            throw new InvalidOperationException($"Settings type {type} nests too deeply (a cycle?).");
        }

        var children = new List<SettingNode>();
        foreach (PropertyInfo p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (p.GetIndexParameters().Length > 0 || p.GetMethod is not { IsPublic: true })
            {
                continue;
            }

            string childPath = path + ":" + p.Name;
            Type pt = p.PropertyType;
            if (ElementType(pt) is { } element)
            {
                children.Add(new SettingNode(p.Name, childPath, SettingKind.List, p, element, []));
            }
            else if (p.SetMethod is not { IsPublic: true })
            {
                continue; // read-only non-list properties are computed, not bound
            }
            else if (IsSection(pt))
            {
                Type section = Nullable.GetUnderlyingType(pt) ?? pt;
                children.Add(new SettingNode(p.Name, childPath, SettingKind.Section, p, section, DescribeChildren(section, childPath, depth + 1)));
            }
            else
            {
                children.Add(new SettingNode(p.Name, childPath, SettingKind.Value, p, pt, []));
            }
        }

        return children;
    }

    // A section is a plain settings class: no converter from text (Uri, TimeSpan… are values), not a collection.
    private static bool IsSection(Type t) =>
        t.IsClass && t != typeof(string) && !typeof(IEnumerable).IsAssignableFrom(t) && t.GetConstructor(Type.EmptyTypes) is not null
        && !TypeDescriptor.GetConverter(t).CanConvertFrom(typeof(string));

    private static Type? ElementType(Type t)
    {
        if (t == typeof(string))
        {
            return null;
        }

        if (t.IsArray)
        {
            return t.GetElementType();
        }

        if (t.IsGenericType && t.GetGenericArguments() is [Type arg]
            && typeof(IEnumerable<>).MakeGenericType(arg).IsAssignableFrom(t))
        {
            return arg;
        }

        return null;
    }
}
