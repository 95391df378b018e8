using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using SecureFedRec.Coordinator.Operations;
using SecureFedRec.Wire.Operations.V1;

namespace SecureFedRec.Coordinator.Dashboard;

/// <summary>
/// The operators' dashboard: served only on the dashboard listener (<see cref="DashboardListener"/>; every other path
/// there is 404, and <c>/dashboard/</c> is 404 on the coordinator's own port), only to a live session.
/// </summary>
/// <remarks>
/// Routes: <c>GET /dashboard/login?token=…</c> redeems a one-time link for a session cookie (<c>HttpOnly</c>,
/// <c>SameSite=Strict</c>, <c>Secure</c> over TLS, path <c>/dashboard</c>) and redirects to <c>/dashboard/</c>, so the
/// token leaves the address bar; <c>GET /dashboard/</c> the page; <c>GET /dashboard/api/live</c> the live figures
/// (JSON); <c>POST /dashboard/logout</c> ends the session; <c>/dashboard/app.js|app.css</c> the page's assets (no data).
/// Every response has a strict Content-Security-Policy (no inline script, nothing from another origin), no-store
/// caching and no referrer to other origins. No CDN: the charts are inline SVG rendered on the server.
/// </remarks>
internal static class DashboardEndpoints
{
    public const string CookieName = "sfr_dashboard";

    private const string Csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

    public static void Map(WebApplication app, bool enabled)
    {
        // The listener gate: a dashboard connection sees the dashboard only; other connections never see it.
        app.Use(async (context, next) =>
        {
            bool dashboardConnection = context.Features.Get<IConnectionItemsFeature>()?.Items.ContainsKey(DashboardListener.Tag) == true;
            bool dashboardPath = context.Request.Path.StartsWithSegments("/dashboard", StringComparison.Ordinal);
            if (dashboardConnection && context.Request.Path == "/")
            {
                context.Response.Redirect("/dashboard/");
                return;
            }

            if (dashboardConnection != dashboardPath || (dashboardPath && !enabled))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }

            if (dashboardConnection)
            {
                IHeaderDictionary h = context.Response.Headers;
                h.ContentSecurityPolicy = Csp;
                h.XContentTypeOptions = "nosniff";
                h.XFrameOptions = "DENY";
                h.CacheControl = "no-store";
                h["Referrer-Policy"] = "same-origin"; // nothing to other sites; same-origin forms keep their Origin header
            }

            await next(context).ConfigureAwait(false);
        });

        if (!enabled)
        {
            return;
        }

        app.MapGet("/dashboard/login", (HttpContext context, DashboardSessions sessions, ILoggerFactory loggers) =>
        {
            ILogger logger = loggers.CreateLogger("SecureFedRec.Coordinator.Operations");
            if (sessions.Redeem(context.Request.Query["token"].ToString()) is not { } session)
            {
                OperationsLog.DashboardLoginRefused(logger, context.Connection.RemoteIpAddress?.ToString() ?? "?");
                return Results.Content(DashboardPage.Refused("This login link is unknown, used or expired."), "text/html; charset=utf-8", statusCode: StatusCodes.Status401Unauthorized);
            }

            context.Response.Cookies.Append(CookieName, session.Session, new CookieOptions
            {
                HttpOnly = true,
                Secure = context.Request.IsHttps,
                SameSite = SameSiteMode.Strict,
                Path = "/dashboard",
                MaxAge = sessions.SessionLifetime,
            });
            OperationsLog.DashboardSessionOpened(logger, session.Operator);
            return Results.Redirect("/dashboard/");
        });

        app.MapGet("/dashboard/", async (HttpContext context, DashboardSessions sessions, OperationsQueries queries) =>
        {
            if (sessions.Validate(context.Request.Cookies[CookieName]) is not { } operatorId)
            {
                return Results.Content(DashboardPage.Refused("Log in with a link from `securefedrec dashboard login`."), "text/html; charset=utf-8", statusCode: StatusCodes.Status401Unauthorized);
            }

            CancellationToken ct = context.RequestAborted;
            GetStatusResponse status = await queries.StatusAsync(ct).ConfigureAwait(false);
            IReadOnlyList<RoundSummary> rounds = await queries.RoundsAsync(DashboardPage.RoundsShown, ct).ConfigureAwait(false);
            var details = new List<GetRoundResponse>();
            foreach (RoundSummary r in rounds)
            {
                if (await queries.RoundAsync(r.RoundId, ct).ConfigureAwait(false) is { } detail)
                {
                    details.Add(detail);
                }
            }

            ExportLedgerResponse ledger = await queries.LedgerAsync(ct).ConfigureAwait(false);
            return Results.Content(DashboardPage.Render(operatorId, status, details, ledger, queries.Waiting), "text/html; charset=utf-8");
        });

        app.MapGet("/dashboard/api/live", async (HttpContext context, DashboardSessions sessions, OperationsQueries queries) =>
        {
            if (sessions.Validate(context.Request.Cookies[CookieName]) is null)
            {
                return Results.StatusCode(StatusCodes.Status401Unauthorized);
            }

            GetStatusResponse s = await queries.StatusAsync(context.RequestAborted).ConfigureAwait(false);
            string json = JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["round"] = s.CurrentRound,
                ["phase"] = s.CurrentRound == 0 ? "idle" : s.CurrentPhase.ToString(),
                ["modelVersion"] = s.ModelVersion,
                ["epsilonSpent"] = s.EpsilonSpent,
                ["epsilonBudget"] = s.EpsilonBudget,
                ["waiting"] = queries.Waiting,
                ["enrolled"] = s.EnrolledClients,
                ["roundsTotal"] = s.RoundsTotal,
                ["serverTimeUnixMs"] = s.ServerTimeUnixMs,
            });
            return Results.Content(json, "application/json; charset=utf-8");
        });

        app.MapPost("/dashboard/logout", (HttpContext context, DashboardSessions sessions, ILoggerFactory loggers) =>
        {
            // SameSite=Strict already keeps other sites' forms from carrying the cookie; the Origin check is the second lock.
            string? origin = context.Request.Headers.Origin;
            if (origin is not null && !string.Equals(origin, context.Request.Scheme + "://" + context.Request.Host, StringComparison.OrdinalIgnoreCase))
            {
                return Results.StatusCode(StatusCodes.Status403Forbidden);
            }

            if (sessions.Revoke(context.Request.Cookies[CookieName]) is { } operatorId)
            {
                ILogger logger = loggers.CreateLogger("SecureFedRec.Coordinator.Operations");
                OperationsLog.DashboardSessionClosed(logger, operatorId);
            }

            context.Response.Cookies.Delete(CookieName, new CookieOptions { Path = "/dashboard" });
            return Results.Content(DashboardPage.Refused("Logged out."), "text/html; charset=utf-8");
        });

        app.MapGet("/dashboard/app.js", () => Results.Text(DashboardAssets.Script, "text/javascript; charset=utf-8"));
        app.MapGet("/dashboard/favicon.svg", () => Results.Text(DashboardAssets.Icon, "image/svg+xml"));
        app.MapGet("/dashboard/app.css", () => Results.Text(DashboardAssets.Style, "text/css; charset=utf-8"));
    }
}
