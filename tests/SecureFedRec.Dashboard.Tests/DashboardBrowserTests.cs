using System.Net;
using Microsoft.Playwright;

namespace SecureFedRec.Dashboard.Tests;

/// <summary>The dashboard in a real browser (Chromium), after one released round: login link → session → page.</summary>
public sealed class DashboardBrowserTests(DashboardFixture fixture) : IClassFixture<DashboardFixture>
{
    [Fact]
    public async Task An_operator_logs_in_with_a_link_and_sees_rounds_survivors_epsilon_models_and_live_figures()
    {
        (IPlaywright playwright, IBrowser browser) = await Browser.LaunchAsync();
        using (playwright)
        await using (browser)
        {
            IPage page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 1000 } });
            var errors = new List<string>();
            page.Console += (_, message) =>
            {
                if (message.Type == "error")
                {
                    errors.Add(message.Text + " " + message.Location);
                }
            };

            string login = await fixture.LoginUrlAsync();
            IResponse? response = await page.GotoAsync(login);
            Assert.NotNull(response);
            Assert.Equal(200, response.Status);
            Assert.EndsWith("/dashboard/", page.Url, StringComparison.Ordinal); // the token left the address bar
            Assert.Equal("SecureFedRec dashboard", await page.TitleAsync());

            // Live figures are refreshed by app.js from /dashboard/api/live.
            await page.WaitForFunctionAsync("() => document.getElementById('live-updated').textContent.endsWith('UTC')", null, new PageWaitForFunctionOptions { Timeout = 10_000 });
            Assert.Equal("2", await page.Locator("#live-model").InnerTextAsync());
            Assert.Equal("2", await page.Locator("#live-enrolled").InnerTextAsync());
            Assert.Contains(" / 10", await page.Locator("#live-epsilon").InnerTextAsync(), StringComparison.Ordinal);

            // ε against the budget: one charged round, and the budget line.
            Assert.Equal(1, await page.Locator("#epsilon-chart circle.point").CountAsync());
            Assert.Equal(1, await page.Locator("#epsilon-chart line.budget").CountAsync());
            Assert.Contains("budget ε = 10", await page.Locator("#epsilon-chart").TextContentAsync() ?? string.Empty, StringComparison.Ordinal);

            // Rounds over time: one bar per closed phase with both clients answering.
            int bars = await page.Locator("#rounds-chart rect.survivors").CountAsync();
            Assert.True(bars >= 4, $"{bars} phase bars");
            string survivors = await page.Locator("#rounds-table tbody tr").First.InnerTextAsync();
            Assert.Contains("Completed", survivors, StringComparison.Ordinal);
            Assert.Contains("2/2 → 2/2", survivors, StringComparison.Ordinal);
            Assert.Contains("none", survivors, StringComparison.Ordinal); // no drops

            // Model versions: the initial one and the released one.
            Assert.Equal(2, await page.Locator("#models-table tbody tr").CountAsync());
            Assert.Contains("initial", await page.Locator("#models-table").InnerTextAsync(), StringComparison.Ordinal);

            string screenshot = Path.Combine(Browser.ArtifactsFolder(), "dashboard.png");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
            Assert.True(new FileInfo(screenshot).Length > 10_000, "screenshot written");
            Assert.Empty(errors); // no CSP violation, no script error

            // Logging out ends the session: the page is refused afterwards.
            string dashboard = page.Url;
            await page.ClickAsync("form[action='/dashboard/logout'] button");
            Assert.Equal("Logged out.", await page.Locator("#refused").InnerTextAsync());
            IResponse? after = await page.GotoAsync(dashboard);
            Assert.Equal(401, after!.Status);
            Assert.NotNull(await page.QuerySelectorAsync("#refused"));
        }
    }

    [Fact]
    public async Task Without_a_session_the_page_and_the_live_figures_are_refused()
    {
        Uri base_ = new(new Uri(await fixture.LoginUrlAsync()), "/");
        using var http = new HttpClient { BaseAddress = base_ };
        HttpResponseMessage page = await http.GetAsync(new Uri("/dashboard/", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, page.StatusCode);
        Assert.Contains("securefedrec dashboard login", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(new Uri("/dashboard/api/live", UriKind.Relative))).StatusCode);

        using var forged = new HttpRequestMessage(HttpMethod.Get, new Uri("/dashboard/", UriKind.Relative));
        forged.Headers.Add("Cookie", "sfr_dashboard=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(forged)).StatusCode);
    }

    [Fact]
    public async Task A_login_link_works_once()
    {
        Uri login = new(await fixture.LoginUrlAsync());
        using var handler = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false };
        using var http = new HttpClient(handler);
        HttpResponseMessage first = await http.GetAsync(login);
        Assert.Equal(HttpStatusCode.Redirect, first.StatusCode);
        string cookie = Assert.Single(first.Headers.GetValues("Set-Cookie"));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/dashboard", cookie, StringComparison.OrdinalIgnoreCase);

        HttpResponseMessage again = await http.GetAsync(login);
        Assert.Equal(HttpStatusCode.Unauthorized, again.StatusCode);
        Assert.False(again.Headers.Contains("Set-Cookie"));
    }

    [Theory]
    [InlineData("token=")]
    [InlineData("token=short")]
    [InlineData("token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("")]
    public async Task A_forged_login_link_is_refused(string query)
    {
        Uri base_ = new(new Uri(await fixture.LoginUrlAsync()), "/");
        using var http = new HttpClient { BaseAddress = base_ };
        HttpResponseMessage r = await http.GetAsync(new Uri("/dashboard/login?" + query, UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
    }

    [Fact]
    public async Task Dashboard_responses_carry_a_strict_content_security_policy_and_no_cross_origin_referrer()
    {
        Uri base_ = new(new Uri(await fixture.LoginUrlAsync()), "/");
        using var http = new HttpClient { BaseAddress = base_ };
        HttpResponseMessage r = await http.GetAsync(new Uri("/dashboard/", UriKind.Relative));
        string csp = string.Join(';', r.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
        Assert.Equal("same-origin", string.Join(',', r.Headers.GetValues("Referrer-Policy")));
        Assert.Equal("no-store", r.Headers.CacheControl?.ToString());
    }

    [Theory]
    [InlineData("/metrics")]
    [InlineData("/healthz")]
    [InlineData("/securefedrec.operations.v1.Operations/GetStatus")]
    public async Task The_dashboard_listener_serves_nothing_but_the_dashboard(string path)
    {
        Uri base_ = new(new Uri(await fixture.LoginUrlAsync()), "/");
        using var http = new HttpClient { BaseAddress = base_ };
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(new Uri(path, UriKind.Relative))).StatusCode);
    }

    [Theory]
    [InlineData("https://evil.example")]
    [InlineData("null")]
    public async Task A_logout_from_another_origin_is_refused(string origin)
    {
        Uri base_ = new(new Uri(await fixture.LoginUrlAsync()), "/");
        using var http = new HttpClient { BaseAddress = base_ };
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/dashboard/logout", UriKind.Relative));
        request.Headers.Add("Origin", origin);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task The_coordinator_port_does_not_serve_the_dashboard()
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(fixture.Host.Address, "/dashboard/"))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        Assert.Equal(HttpStatusCode.NotFound, (await http.SendAsync(request)).StatusCode);
    }
}
