using System.ComponentModel.DataAnnotations;
using System.Net;
using SecureFedRec.Configuration;

namespace SecureFedRec.Coordinator.Operations;

/// <summary>
/// Operators of a coordinator (section <c>Coordinator:Operators</c>): the keys that may call the operator API
/// (<c>protocol-spec/proto/operations.proto</c>: <c>securefedrec status|rounds|round|models|ledger export|ledger verify
/// --coordinator</c>) and log in to the dashboard. Operator keys are ECDSA P-256 identity keys
/// (<c>securefedrec keygen client --name operator</c>); they are a set of their own: never on the clients' allow-list.
/// </summary>
/// <remarks>Immutable once the coordinator has started. Documented in docs/operators.md ("Run management").</remarks>
public sealed class OperatorOptions : ISettingsRules
{
    /// <summary>Operator public keys, one per entry: <c>HEX_PUBLIC_KEY [name]</c> (the line of the key's .pub file).</summary>
    public IList<string> Keys { get; } = [];

    /// <summary>File with one operator key per line (<c>HEX_PUBLIC_KEY [name]</c>, # comments), beside <see cref="Keys"/>.</summary>
    public string? KeysPath { get; set; }

    /// <summary>The operators' dashboard (off by default).</summary>
    public DashboardOptions Dashboard { get; set; } = new();

    /// <inheritdoc />
    public void CheckRules(string path, SettingsProblems problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        problems.RequireFile(path + ":KeysPath", KeysPath);
        if (problems.IsMalformed(path + ":KeysPath") || (KeysPath is { Length: > 0 } && !File.Exists(KeysPath)))
        {
            return;
        }

        try
        {
            AllowList keys = AllowList.Load(KeysPath, Keys);
            problems.Require(!Dashboard.Enabled || keys.Count > 0, path + ":Dashboard:Enabled",
                "the dashboard needs at least one operator key (Coordinator:Operators:Keys or KeysPath): only operators can log in.");
        }
        catch (FormatException ex)
        {
            problems.Add(path + ":Keys", ex.Message.Replace("AllowList[", "Keys[", StringComparison.Ordinal));
        }
        catch (IOException ex)
        {
            problems.Add(path + ":KeysPath", ex.Message);
        }
    }
}

/// <summary>
/// The dashboard (section <c>Coordinator:Operators:Dashboard</c>): an HTTP listener of its own, loopback by default,
/// serving only <c>/dashboard/</c>. Operators log in with a one-time link from <c>securefedrec dashboard login</c>
/// (an operator-signed request), which becomes a session cookie.
/// </summary>
public sealed class DashboardOptions : ISettingsRules
{
    /// <summary>Serve the dashboard (default false).</summary>
    public bool Enabled { get; set; }

    /// <summary>Address of the dashboard listener (default 127.0.0.1). A non-loopback address needs TLS (no --insecure-dev).</summary>
    public string ListenAddress { get; set; } = "127.0.0.1";

    /// <summary>TCP port of the dashboard listener (default 7444; 0: any free port). Must differ from the coordinator's port.</summary>
    [Range(0, 65535)]
    public int Port { get; set; } = 7444;

    /// <summary>Base URL put in login links (e.g. https://coordinator.bank.internal:7444) when the listen address is not what browsers reach.</summary>
    public string? PublicUrl { get; set; }

    /// <summary>How long a login link can be redeemed, seconds (default 120; one use).</summary>
    [Range(10, 3600)]
    public int LoginSeconds { get; set; } = 120;

    /// <summary>How long a dashboard session lasts, seconds (default 28800: 8 hours).</summary>
    [Range(60, 7 * 86400)]
    public int SessionSeconds { get; set; } = 8 * 3600;

    /// <inheritdoc />
    public void CheckRules(string path, SettingsProblems problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        problems.Require(IPAddress.TryParse(ListenAddress, out _), path + ":ListenAddress", $"'{ListenAddress}' is not an IP address (e.g. 127.0.0.1).");
        if (!string.IsNullOrEmpty(PublicUrl))
        {
            problems.Require(Uri.TryCreate(PublicUrl, UriKind.Absolute, out Uri? url) && (url.Scheme == Uri.UriSchemeHttps || url.Scheme == Uri.UriSchemeHttp),
                path + ":PublicUrl", $"'{PublicUrl}' is not an absolute http(s) URL.");
        }
    }
}
