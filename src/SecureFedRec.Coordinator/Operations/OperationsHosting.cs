using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SecureFedRec.Coordinator.Dashboard;
using SecureFedRec.Coordinator.Grpc;
using SecureFedRec.Wire.Auth;

namespace SecureFedRec.Coordinator.Operations;

/// <summary>
/// Registers the operator API (operations.proto, authenticated against <see cref="OperatorOptions.Keys"/>) and, when
/// enabled, the dashboard listener, in the coordinator's web host: <see cref="Add"/> before the host is built,
/// <see cref="Map"/> right after the clients' <see cref="SignedRequestMiddleware"/>.
/// </summary>
internal static class OperationsHosting
{
    /// <summary>Checks the operator settings against the rest, registers the services and the dashboard listener.</summary>
    /// <exception cref="ArgumentException">An operator key is also a client's, or the dashboard's address is unsafe.</exception>
    public static void Add(WebApplicationBuilder builder, CoordinatorOptions options, AllowList clients, X509Certificate2? certificate, TimeProvider time)
    {
        OperatorOptions o = options.Operators;
        AllowList operators = AllowList.Load(o.KeysPath, o.Keys);
        var problems = new List<string>();
        foreach (string id in OperatorIds(o).Where(id => clients.Find(id) is not null))
        {
            problems.Add($"Coordinator:Operators:Keys: operator {id} is also on the clients' allow-list; an operator key must be a key of its own (securefedrec keygen client --name operator).");
        }

        DashboardOptions d = o.Dashboard;
        var listener = new DashboardListener();
        if (d.Enabled)
        {
            IPAddress address = IPAddress.Parse(d.ListenAddress);
            if (certificate is null && !IPAddress.IsLoopback(address))
            {
                problems.Add($"Coordinator:Operators:Dashboard:ListenAddress: '{d.ListenAddress}' is not a loopback address; without TLS (--insecure-dev) the dashboard listens on loopback only.");
            }

            if (d.Port != 0 && d.Port == options.Port)
            {
                problems.Add($"Coordinator:Operators:Dashboard:Port: {d.Port} is the coordinator's own port; the dashboard needs a port of its own.");
            }

            if (problems.Count == 0)
            {
                builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(address, d.Port, listen =>
                {
                    listen.Protocols = HttpProtocols.Http1;
                    if (certificate is not null)
                    {
                        listen.UseHttps(certificate);
                    }

                    // Connections of this listener are tagged: only the dashboard is served on them, and nowhere else.
                    listen.Use(next => connection =>
                    {
                        connection.Items[DashboardListener.Tag] = DashboardListener.Tag;
                        return next(connection);
                    });
                    listener.Listen = listen;
                }));
            }
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join(Environment.NewLine, problems));
        }

        listener.Scheme = certificate is null ? Uri.UriSchemeHttp : Uri.UriSchemeHttps;
        builder.Services.AddSingleton(listener);
        builder.Services.AddSingleton(new DashboardAddress());
        builder.Services.AddSingleton(new OperatorAuthenticator(operators, new SignedRequestAuthenticator(
            (id, _) => ValueTask.FromResult(operators.Find(id)),
            new ReplayGuard(time, TimeSpan.FromSeconds(options.AuthWindowSeconds)))));
        builder.Services.AddSingleton(new DashboardSessions(time, TimeSpan.FromSeconds(d.LoginSeconds), TimeSpan.FromSeconds(d.SessionSeconds)));
        builder.Services.AddSingleton(sp => new OperationsQueries(sp.GetRequiredService<Storage.ICoordinatorStore>(), sp.GetRequiredService<RoundEngine>(),
            sp.GetRequiredService<Privacy.Ledger.IPrivacyLedger>(), options, sp.GetRequiredService<DashboardAddress>(), time));
        builder.Services.AddSingleton<OperationsService>();
    }

    /// <summary>The operator middleware, the gRPC service and the dashboard's endpoints.</summary>
    public static void Map(WebApplication app, CoordinatorOptions options)
    {
        app.UseMiddleware<OperatorRequestMiddleware>();
        app.MapGrpcService<OperationsService>();
        DashboardListener listener = app.Services.GetRequiredService<DashboardListener>();
        DashboardAddress address = app.Services.GetRequiredService<DashboardAddress>();
        DashboardOptions d = options.Operators.Dashboard;
        DashboardEndpoints.Map(app, enabled: d.Enabled);
        ILogger logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("SecureFedRec.Coordinator.Operations");
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            if (d.Enabled && listener.Listen is { } bound)
            {
                address.Uri = !string.IsNullOrEmpty(d.PublicUrl)
                    ? new Uri(d.PublicUrl.TrimEnd('/') + "/")
                    : new UriBuilder(listener.Scheme, HostOf(bound.IPEndPoint!.Address), bound.IPEndPoint.Port).Uri;
            }

            int keys = app.Services.GetRequiredService<OperatorAuthenticator>().Count;
            string where = address.Uri?.ToString() ?? "off";
            OperationsLog.Configured(logger, keys, where);
        });
    }

    /// <summary>The client ids of the configured operator keys (lines of KeysPath, then Keys; comments and blanks skipped).</summary>
    private static IEnumerable<string> OperatorIds(OperatorOptions o)
    {
        IEnumerable<string> lines = string.IsNullOrEmpty(o.KeysPath) ? o.Keys : File.ReadAllLines(o.KeysPath).Concat(o.Keys);
        foreach (string raw in lines)
        {
            string line = raw.Trim();
            if (line.Length > 0 && !line.StartsWith('#'))
            {
                int space = line.IndexOf(' ', StringComparison.Ordinal);
                yield return RequestSignature.ClientIdOf(Convert.FromHexString(space < 0 ? line : line[..space]));
            }
        }
    }

    private static string HostOf(IPAddress address) =>
        address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) ? "localhost" : address.ToString();
}

/// <summary>The dashboard's Kestrel listener (set while Kestrel binds) and its scheme.</summary>
internal sealed class DashboardListener
{
    /// <summary>Connection-items key that marks a dashboard connection.</summary>
    public static readonly object Tag = new();

    public ListenOptions? Listen { get; set; }

    public string Scheme { get; set; } = Uri.UriSchemeHttps;
}
