using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;
using Nylas.Engine.Api.OpenApi;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>
/// GET /openapi.json: the document is valid OpenAPI 3.1, describes exactly the routes of both hosts (the local
/// host's route table and the Functions app's HTTP triggers), and real answers match its schemas.
/// </summary>
public class OpenApiTests(ReadApiFixture host) : IClassFixture<ReadApiFixture>
{
    private static readonly Uri DocumentUri = new("https://openapi.nylas.test/openapi.json");
    private static readonly JsonElement Document = JsonDocument.Parse(OpenApiDescription.Json).RootElement;
    private static readonly string[] HttpMethods = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];

    /// <summary>"/a/{clientId}/accounts/" and "a/{client_id}/accounts" are the same route: parameter names and slashes aside.</summary>
    private static string Normalize(string method, string path)
    {
        string p = "/" + path.Trim('/');
        p = System.Text.RegularExpressions.Regex.Replace(p, @"\{[^}]*\}", "{}");
        return $"{method.ToUpperInvariant()} {p}";
    }

    private static SortedSet<string> DocumentedRoutes()
        => new(Document.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Where(op => HttpMethods.Contains(op.Name)).Select(op => Normalize(op.Name, path.Name))));

    private static void AssertSameRoutes(SortedSet<string> hostRoutes, string hostName)
    {
        var documented = DocumentedRoutes();
        var undocumented = hostRoutes.Except(documented).ToList();
        var missing = documented.Except(hostRoutes).ToList();
        Assert.True(undocumented.Count == 0 && missing.Count == 0,
            $"shared/Nylas.Engine/Api/OpenApi/openapi.json is out of sync with the {hostName}:\n" +
            $"  routes the document lacks: {string.Join(", ", undocumented)}\n  documented routes the host lacks: {string.Join(", ", missing)}");
    }

    [Fact]
    public async Task The_document_is_served_without_credentials()
    {
        using var http = host.Client();
        foreach (string path in new[] { "/openapi.json", "/openapi.json/" })
        {
            using var response = await http.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(OpenApiDescription.Json.ToArray(), await response.Content.ReadAsByteArrayAsync());
        }
    }

    [Fact]
    public void The_document_is_valid_OpenAPI_3_1()
    {
        var (document, diagnostic) = OpenApiDocument.Parse(Encoding.UTF8.GetString(OpenApiDescription.Json.Span), "json");
        Assert.NotNull(document);
        Assert.True(diagnostic!.Errors.Count == 0, string.Join("\n", diagnostic.Errors.Select(e => $"{e.Pointer}: {e.Message}")));
        Assert.Equal(OpenApiSpecVersion.OpenApi3_1, diagnostic.SpecificationVersion);
        var errors = document!.Validate(ValidationRuleSet.GetDefaultRuleSet())?.ToList() ?? [];
        Assert.True(errors.Count == 0, string.Join("\n", errors.Select(e => $"{e.Pointer}: {e.Message}")));

        // The two ways to present an access token, and the client secret, as the hosts accept them.
        var schemes = Document.GetProperty("components").GetProperty("securitySchemes");
        Assert.Equal("basic", schemes.GetProperty("accessToken").GetProperty("scheme").GetString());
        Assert.Equal("bearer", schemes.GetProperty("accessTokenBearer").GetProperty("scheme").GetString());
        Assert.Equal("basic", schemes.GetProperty("clientSecret").GetProperty("scheme").GetString());
        // Every schema of the document compiles, references included.
        foreach (var schema in Document.GetProperty("components").GetProperty("schemas").EnumerateObject())
            SchemaAt($"#/components/schemas/{schema.Name}");
    }

    [Fact]
    public void The_local_host_routes_are_exactly_the_documented_ones()
    {
        var routes = new SortedSet<string>(host.App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => !e.RoutePattern.RawText!.Contains("{*")) // the JSON 404 fallback
            .Where(e => e.Metadata.GetMetadata<IExcludeFromDescriptionMetadata>() is not { ExcludeFromDescription: true }) // operations endpoints (GET /metrics), not the Nylas API
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m => Normalize(m, e.RoutePattern.RawText!))));
        Assert.Contains("GET /openapi.json", routes);
        AssertSameRoutes(routes, "local host (ApiEndpoints.MapNylasApi)");
    }

    [Fact]
    public void The_Functions_app_HTTP_triggers_are_exactly_the_documented_ones()
    {
        var triggers = typeof(Nylas.Functions.ApiFunctions).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static))
            .Where(m => m.GetCustomAttribute<FunctionAttribute>() is not null)
            .SelectMany(m => m.GetParameters().Select(p => p.GetCustomAttribute<HttpTriggerAttribute>()).OfType<HttpTriggerAttribute>())
            .ToList();
        Assert.NotEmpty(triggers);
        Assert.All(triggers, t => Assert.False(string.IsNullOrEmpty(t.Route), "an HTTP trigger without a Route"));
        var routes = new SortedSet<string>(triggers.Where(t => !t.Route!.Contains("{*")) // the JSON 404 catch-all
            .SelectMany(t => (t.Methods ?? ["get"]).Select(m => Normalize(m, t.Route!))));
        Assert.Contains("GET /openapi.json", routes);
        AssertSameRoutes(routes, "Functions app ([HttpTrigger] routes)");
    }

    // ---------------------------------------------------------------------------------------------
    // Real answers against the documented schemas

    private static int _schemaCount;

    /// <summary>The schema at a JSON pointer of the document (its references resolved within the document).</summary>
    private static JsonSchema SchemaAt(string pointer)
    {
        var registry = new SchemaRegistry();
        registry.Register(DocumentUri, new JsonElementBaseDocument(Document, DocumentUri));
        var options = new BuildOptions { SchemaRegistry = registry };
        var wrapper = new JsonObject { ["$ref"] = DocumentUri + pointer };
        return JsonSchema.FromText(wrapper.ToJsonString(), options, new Uri($"https://openapi.nylas.test/check/{Interlocked.Increment(ref _schemaCount)}"));
    }

    private static string Escape(string token) => token.Replace("~", "~0").Replace("/", "~1");

    /// <summary>The operation's response object for a status, following a $ref to components/responses; its JSON pointer too.</summary>
    private static (JsonElement Response, string Pointer) DocumentedResponse(string path, string method, int status)
    {
        var operation = Document.GetProperty("paths").GetProperty(path).GetProperty(method);
        Assert.True(operation.GetProperty("responses").TryGetProperty(status.ToString(), out var response),
            $"{method.ToUpperInvariant()} {path} answered {status}, which the document does not list");
        string pointer = $"#/paths/{Escape(path)}/{method}/responses/{status}";
        if (response.TryGetProperty("$ref", out var r))
        {
            pointer = r.GetString()!;
            response = Document.GetProperty("components").GetProperty("responses").GetProperty(pointer.Split('/').Last());
        }
        return (response, pointer);
    }

    /// <summary>Sends the request and checks status, content type and (for JSON) the body against the documented response.</summary>
    private async Task<JsonElement?> CheckAsync(string documentedPath, string method, HttpRequestMessage request, HttpClient http, int? expectStatus = null)
    {
        using var response = await http.SendAsync(request);
        byte[] body = await response.Content.ReadAsByteArrayAsync();
        int status = (int)response.StatusCode;
        string what = $"{request.Method} {request.RequestUri} -> {status}";
        if (expectStatus is { } s) Assert.True(status == s, $"{what}, expected {s}: {Encoding.UTF8.GetString(body)}");
        var (documented, pointer) = DocumentedResponse(documentedPath, method, status);
        string mediaType = response.Content.Headers.ContentType?.MediaType ?? "";
        Assert.True(documented.TryGetProperty("content", out var content) && content.TryGetProperty(mediaType, out _),
            $"{what}: Content-Type {mediaType} is not documented for this response");
        if (mediaType != "application/json") return null;

        var json = JsonDocument.Parse(body).RootElement;
        var results = SchemaAt($"{pointer}/content/{Escape(mediaType)}/schema").Evaluate(json, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (!results.IsValid)
        {
            var problems = (results.Details ?? []).Where(d => d.Errors is { Count: > 0 })
                .SelectMany(d => d.Errors!.Select(e => $"  {d.InstanceLocation} ({d.EvaluationPath}): {e.Value}"));
            Assert.Fail($"{what}: the answer does not match the document's schema ({pointer}):\n{string.Join('\n', problems.Take(30))}\n{Encoding.UTF8.GetString(body)[..Math.Min(body.Length, 2000)]}");
        }
        return json;
    }

    private static HttpRequestMessage Get(string url, string? accept = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (accept is not null) request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));
        return request;
    }

    [Fact]
    public async Task Real_answers_match_the_documented_schemas_on_every_route()
    {
        using var http = host.Client(host.A.Token);
        var exercised = new HashSet<string>();
        async Task<JsonElement?> Ok(string path, string url, string? accept = null, HttpClient? client = null)
            => await Call("get", path, url, client ?? http, accept: accept);
        // Any method; a JSON body goes as text/plain, as the v2 SDK sends it.
        async Task<JsonElement?> Call(string method, string path, string url, HttpClient client, JsonNode? body = null, string? accept = null, int status = 200)
        {
            exercised.Add(Normalize(method, path));
            var request = Get(url, accept);
            request.Method = new HttpMethod(method.ToUpperInvariant());
            if (body is not null) request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "text/plain");
            return await CheckAsync(path, method, request, client, expectStatus: status);
        }
        string FirstId(JsonElement? list) => list!.Value[0].GetProperty("id").GetString()!;

        // Every list in each of its views, every object alone and expanded; ids from the lists.
        var ids = new Dictionary<string, string>();
        foreach (string list in new[] { "/messages", "/threads", "/contacts", "/calendars", "/events", "/files", "/folders" })
        {
            ids[list] = FirstId(await Ok(list, list));
            await Ok(list, list + "?view=ids");
            await Ok(list, list + "?view=count");
            await Ok(list, list + "?view=expanded&limit=2");
            await Ok(list + "/{id}", $"{list}/{ids[list]}");
        }
        string contract = (await Ok("/messages", "/messages?subject=Signed%20contract"))!.Value[0].GetProperty("id").GetString()!;
        await Ok("/messages/{id}", $"/messages/{contract}?view=expanded");
        await Ok("/messages/{id}", $"/messages/{contract}", accept: "message/rfc822");
        await Ok("/messages/{id}", $"/messages/{contract},{ids["/messages"]}");
        await Ok("/threads/{id}", $"/threads/{ids["/threads"]}?view=expanded");
        await Ok("/messages/search", "/messages/search?q=contract");
        await Ok("/messages/search", "/messages/search?q=contract&view=ids");
        await Ok("/threads/search", "/threads/search?q=budget");
        await Ok("/threads/search", "/threads/search?q=budget&view=count");
        await Ok("/files/{id}/download", $"/files/{ids["/files"]}/download");
        await Ok("/account", "/account");
        await Ok("/health", "/health", client: host.Client());
        await Ok("/openapi.json", "/openapi.json", client: host.Client());

        // A folder account has no labels: a documented 404 with the error shape.
        await Call("get", "/labels", "/labels", http, status: 404);
        await Call("get", "/labels/{id}", $"/labels/{ids["/folders"]}", http, status: 404);

        // The application's endpoints, with the client secret; connecting answers the account with its token.
        using var app = host.AppClient();
        await Ok("/a/{client_id}/accounts", $"/a/{host.ClientId}/accounts", client: app);
        await Ok("/a/{client_id}/accounts", $"/a/{host.ClientId}/accounts?view=count", client: app);
        using (var connected = await host.PostAccountAsync(Nylas.Testing.TestStack.NewMailbox()))
        {
            exercised.Add("POST /a/{}/accounts");
            var account = await CheckBodyAsync("/a/{client_id}/accounts", "post", connected);
            Assert.False(string.IsNullOrEmpty(account.GetProperty("access_token").GetString()));
        }
        await Call("post", "/a/{client_id}/accounts", $"/a/{host.ClientId}/accounts", app, new JsonObject { ["email_address"] = "nope" }, status: 400);

        // Webhooks: a create refused (WebhookTests make real ones, with a receiver for the challenge), then one stored
        // directly, inactive so nothing is sent, through every route.
        await Call("post", "/a/{client_id}/webhooks", $"/a/{host.ClientId}/webhooks", app,
            new JsonObject { ["callback_url"] = "http://93.184.215.14/hook", ["triggers"] = new JsonArray("message.created") }, status: 400);
        var application = await host.App.Services.GetRequiredService<Nylas.Engine.Accounts.AccountStore>().FindApplicationAsync(host.ClientId);
        var subscription = await host.App.Services.GetRequiredService<Nylas.Engine.Webhooks.WebhookStore>()
            .CreateAsync(application!.Id, "https://93.184.215.14/hook", ["message.created"], "inactive", CancellationToken.None);
        string hook = $"/a/{host.ClientId}/webhooks/{subscription.PublicId}";
        await Call("get", "/a/{client_id}/webhooks", $"/a/{host.ClientId}/webhooks", app);
        await Call("get", "/a/{client_id}/webhooks/{id}", hook, app);
        await Call("put", "/a/{client_id}/webhooks/{id}", hook, app, new JsonObject { ["state"] = "inactive" });
        await Call("get", "/a/{client_id}/webhooks/{id}/deliveries", hook + "/deliveries", app);
        await Call("get", "/a/{client_id}/poison", $"/a/{host.ClientId}/poison", app);
        await Call("get", "/a/{client_id}/poison", $"/a/{host.ClientId}/poison?queue=webhooks", app);
        await Call("post", "/a/{client_id}/poison/replay", $"/a/{host.ClientId}/poison/replay", app, new JsonObject { ["ids"] = new JsonArray("0") });
        await Call("post", "/a/{client_id}/poison/replay", $"/a/{host.ClientId}/poison/replay", app, new JsonObject { ["queue"] = "nope", ["all"] = true }, status: 400);
        await Call("delete", "/a/{client_id}/webhooks/{id}", hook, app, new JsonObject());
        await Call("get", "/a/{client_id}/webhooks/{id}", hook, app, status: 404);

        // Native auth: /connect/authorize (no credentials: the body names the application) answers a code,
        // /connect/token (the client secret in the body) the account with its token; then the management routes.
        string email = Nylas.Testing.TestStack.NewMailbox();
        using (var imap = await Nylas.Testing.TestStack.ConnectImapAsync(email)) await imap.DisconnectAsync(true);
        var settings = new JsonObject
        {
            ["imap_host"] = Nylas.Testing.TestStack.ImapHost, ["imap_port"] = Nylas.Testing.TestStack.ImapsPort, ["imap_security"] = "ssl",
            ["imap_username"] = email, ["imap_password"] = Nylas.Testing.TestStack.ImapPassword,
            ["trusted_certificate_sha256"] = Nylas.Testing.TestStack.TlsCertSha256(),
        };
        JsonObject Authorize(string password)
        {
            var withPassword = (JsonObject)settings.DeepClone();
            withPassword["imap_password"] = password;
            return new()
            {
                ["client_id"] = host.ClientId, ["name"] = "OpenAPI", ["email_address"] = email, ["provider"] = "imap",
                ["settings"] = withPassword, ["scopes"] = "email.read_only",
            };
        }
        using var anonymous = host.Client();
        await Call("post", "/connect/authorize", "/connect/authorize", anonymous, Authorize("wrong-password"), status: 401);
        string code = (await Call("post", "/connect/authorize", "/connect/authorize", anonymous, Authorize(Nylas.Testing.TestStack.ImapPassword)))!.Value.GetProperty("code").GetString()!;
        await Call("post", "/connect/token", "/connect/token", anonymous, new JsonObject { ["client_id"] = host.ClientId, ["client_secret"] = host.ClientSecret, ["code"] = "not-a-code" }, status: 400);
        var connectedAccount = (await Call("post", "/connect/token", "/connect/token", anonymous, new JsonObject { ["client_id"] = host.ClientId, ["client_secret"] = host.ClientSecret, ["code"] = code }))!.Value;
        string accountId = connectedAccount.GetProperty("id").GetString()!, token = connectedAccount.GetProperty("access_token").GetString()!;
        string managed = $"/a/{host.ClientId}/accounts/{accountId}";
        await Call("get", "/a/{client_id}/accounts/{id}", managed, app);
        await Call("get", "/a/{client_id}/accounts/{id}", $"/a/{host.ClientId}/accounts/0000000000000000000000000", app, status: 404);
        await Call("post", "/a/{client_id}/accounts/{id}/downgrade", managed + "/downgrade", app, new JsonObject());
        await Call("post", "/a/{client_id}/accounts/{id}/upgrade", managed + "/upgrade", app, new JsonObject());
        await Call("post", "/a/{client_id}/accounts/{id}/revoke-all", managed + "/revoke-all", app, new JsonObject { ["keep_access_token"] = token });
        using (var owner = host.Client(token)) await Call("post", "/oauth/revoke", "/oauth/revoke", owner, new JsonObject());
        await Call("delete", "/a/{client_id}/accounts/{id}", managed, app, new JsonObject());

        // The change feed: cursors, a page, a long poll and a stream that end at their timeout, a bad type.
        string cursor = (await Call("post", "/delta/latest_cursor", "/delta/latest_cursor", http, new JsonObject()))!.Value.GetProperty("cursor").GetString()!;
        await Call("post", "/delta/generate_cursor", "/delta/generate_cursor", http, new JsonObject { ["start"] = 0 });
        var page = await Ok("/delta", "/delta?cursor=0&view=expanded&limit=50");
        Assert.NotEmpty(page!.Value.GetProperty("deltas").EnumerateArray());
        await Ok("/delta/longpoll", $"/delta/longpoll?cursor={cursor}&timeout=1");
        await Ok("/delta/streaming", $"/delta/streaming?cursor={cursor}&timeout=1");
        await CheckAsync("/delta", "get", Get("/delta?cursor=0&include_types=banana"), http, expectStatus: 400);

        // Writes: metadata on a message, thread and event (the SDK's echoed objects); an upload, found and deleted.
        var message = (await Ok("/messages/{id}", $"/messages/{contract}"))!.Value;
        var echoed = JsonNode.Parse(message.GetRawText())!.AsObject();
        echoed["metadata"] = new JsonObject { ["openapi"] = "yes" };
        await Call("put", "/messages/{id}", $"/messages/{contract}", http, echoed);
        await Call("put", "/messages/{id}", $"/messages/{contract}", http, new JsonObject { ["metadata"] = new JsonObject { ["n"] = 1 } }, status: 400);
        await Call("put", "/threads/{id}", $"/threads/{ids["/threads"]}", http, new JsonObject { ["metadata"] = new JsonObject { ["openapi"] = "yes" } });
        await Call("put", "/events/{id}", $"/events/{ids["/events"]}", http, new JsonObject { ["metadata"] = new JsonObject() });
        await Call("put", "/events/{id}", "/events/0000000000000000000000000", http, new JsonObject(), status: 404);
        exercised.Add("POST /files");
        var form = new MultipartFormDataContent { { new ByteArrayContent(Encoding.UTF8.GetBytes("openapi")), "file", "openapi.txt" } };
        var uploaded = await CheckAsync("/files", "post", new HttpRequestMessage(HttpMethod.Post, "/files") { Content = form }, http, expectStatus: 200);
        string uploadId = uploaded!.Value[0].GetProperty("id").GetString()!;
        await CheckAsync("/files", "post", new HttpRequestMessage(HttpMethod.Post, "/files") { Content = new StringContent("{}", Encoding.UTF8, "text/plain") }, http, expectStatus: 400);
        await Ok("/files/{id}", $"/files/{uploadId}");
        await Call("delete", "/files/{id}", $"/files/{uploadId}", http, new JsonObject());
        await Call("delete", "/files/{id}", $"/files/{ids["/files"]}", http, new JsonObject(), status: 400);
        // Sending: this fixture's accounts were connected without SMTP settings, a documented 400 (SendTests sends for real).
        await Call("post", "/send", "/send", http, new JsonObject { ["to"] = new JsonArray(new JsonObject { ["email"] = "someone@example.com" }), ["body"] = "<p>hi</p>" }, status: 400);
        // RSVP: the same (RsvpTests answers for real); an unknown event is a 404.
        await Call("post", "/send-rsvp", "/send-rsvp", http, new JsonObject { ["event_id"] = ids["/events"], ["status"] = "yes" }, status: 400);
        await Call("post", "/send-rsvp", "/send-rsvp", http, new JsonObject { ["event_id"] = "0000000000000000000000000", ["status"] = "yes" }, status: 404);

        // The outbox under both paths: scheduling needs SMTP settings (a documented 400; OutboxTests send for real), so one
        // item is stored directly, far ahead and without a delivery, then read, changed and cancelled through the API.
        var outbox = host.App.Services.GetRequiredService<Nylas.Engine.Outbox.OutboxStore>();
        long accountRow = await host.Databases.AccountRowIdAsync(host.A.AccountId);
        int shard = (int)await host.Databases.ScalarAsync("global", $"SELECT shard_id FROM accounts WHERE public_id = '{host.A.AccountId}'");
        foreach (string prefix in new[] { "/outbox", "/v2/outbox" })
        {
            await Call("post", prefix, prefix, http, new JsonObject { ["to"] = new JsonArray(new JsonObject { ["email"] = "someone@example.com" }), ["send_at"] = 0 }, status: 400);
            var item = await outbox.CreateAsync(shard, accountRow, new Nylas.Engine.Outbox.OutboxMessageContent(
                """{"subject":"OpenAPI","to":[{"name":"","email":"someone@example.com"}]}""", new string('0', 64), "openapi@example.com"),
                DateTime.UtcNow.AddDays(1), DateTime.UtcNow.AddDays(2), _ => Task.CompletedTask, CancellationToken.None);
            string one = $"{prefix}/{item.PublicId}";
            await Call("get", prefix, prefix + "?limit=5", http);
            await Call("get", prefix + "/{id}", one, http);
            await Call("patch", prefix + "/{id}", one, http, new JsonObject { ["send_at"] = DateTimeOffset.UtcNow.AddDays(3).ToUnixTimeSeconds() });
            await Call("patch", prefix + "/{id}", one, http, new JsonObject { ["send_at"] = "soon" }, status: 400);
            await Call("delete", prefix + "/{id}", one, http);
            await Call("patch", prefix + "/{id}", one, http, new JsonObject { ["subject"] = "too late" }, status: 409);
            await Call("get", prefix + "/{id}", $"{prefix}/0000000000000000000000000", http, status: 404);
        }

        // Errors: unknown parameter, bad id, unknown object, no credentials, wrong credentials.
        await CheckAsync("/messages", "get", Get("/messages?colour=red"), http, expectStatus: 400);
        await CheckAsync("/messages/{id}", "get", Get("/messages/NOT-AN-ID"), http, expectStatus: 400);
        await CheckAsync("/threads/{id}", "get", Get("/threads/0000000000000000000000000"), http, expectStatus: 404);
        await CheckAsync("/events", "get", Get("/events"), host.Client(), expectStatus: 401);
        await CheckAsync("/a/{client_id}/accounts", "get", Get($"/a/{host.ClientId}/accounts"), http, expectStatus: 401);

        // Writes: answered at once with the new state (Syncback applies them on the server); folders with their job statuses.
        var starred = await Call("put", "/messages/{id}", $"/messages/{contract}", http, new JsonObject { ["starred"] = true, ["subject"] = "echoed, ignored" });
        Assert.True(starred!.Value.GetProperty("starred").GetBoolean());
        await Call("put", "/messages/{id}", $"/messages/{contract}", http, new JsonObject { ["label_ids"] = new JsonArray("x") }, status: 400);
        await Call("put", "/threads/{id}", $"/threads/{ids["/threads"]}", http, new JsonObject { ["unread"] = false });
        var created = (await Call("post", "/folders", "/folders", http, new JsonObject { ["display_name"] = "OpenAPI folder" }))!.Value;
        string folderId = created.GetProperty("id").GetString()!, job = created.GetProperty("job_status_id").GetString()!;
        await Call("put", "/folders/{id}", $"/folders/{folderId}", http, new JsonObject { ["display_name"] = "OpenAPI folder renamed", ["name"] = "" });
        await Call("put", "/folders/{id}", $"/folders/{ids["/folders"]}", http, new JsonObject { ["display_name"] = "Renamed inbox" }, status: 400);
        await Call("delete", "/folders/{id}", $"/folders/{folderId}", http);
        await Call("get", "/job-statuses", "/job-statuses?limit=10", http);
        await Call("get", "/job-statuses/{id}", $"/job-statuses/{job}", http);
        await Call("get", "/job-statuses/{id}", "/job-statuses/0000000000000000000000000", http, status: 404);
        await Call("post", "/labels", "/labels", http, new JsonObject { ["display_name"] = "x" }, status: 404);
        await Call("put", "/labels/{id}", $"/labels/{folderId}", http, new JsonObject { ["display_name"] = "x" }, status: 404);
        await Call("delete", "/labels/{id}", $"/labels/{folderId}", http, status: 404);

        // Drafts: created, listed, read, updated, stale versions refused, deleted (DraftTests check the server's Drafts folder).
        var draft = (await Call("post", "/drafts", "/drafts", http, new JsonObject
        {
            ["subject"] = "OpenAPI draft", ["body"] = "<p>x</p>", ["to"] = new JsonArray(new JsonObject { ["email"] = "someone@example.com" }),
            ["labels"] = new JsonArray(), ["date"] = null, ["file_ids"] = new JsonArray(), ["reply_to_message_id"] = null,
        }))!.Value;
        string draftId = draft.GetProperty("id").GetString()!;
        await Ok("/drafts", "/drafts");
        await Ok("/drafts", "/drafts?view=ids");
        await Ok("/drafts", "/drafts?view=count&subject=OpenAPI%20draft");
        await Ok("/drafts/{id}", $"/drafts/{draftId}?view=expanded");
        await Call("put", "/drafts/{id}", $"/drafts/{draftId}", http, new JsonObject { ["version"] = 0, ["subject"] = "OpenAPI draft, again" });
        await Call("put", "/drafts/{id}", $"/drafts/{draftId}", http, new JsonObject { ["version"] = 0, ["subject"] = "stale" }, status: 409);
        await Call("post", "/drafts", "/drafts", http, new JsonObject { ["file_ids"] = new JsonArray("0000000000000000000000000") }, status: 404);
        await Call("post", "/drafts", "/drafts", http, new JsonObject { ["to"] = new JsonArray(new JsonObject { ["email"] = "not-an-address" }) }, status: 400);
        await Call("post", "/send", "/send", http, new JsonObject { ["draft_id"] = draftId, ["version"] = 0 }, status: 409);
        await Call("delete", "/drafts/{id}", $"/drafts/{draftId}", http, new JsonObject { ["version"] = 0 }, status: 409);
        await Call("delete", "/drafts/{id}", $"/drafts/{draftId}", http, new JsonObject { ["version"] = 1 });
        await Call("get", "/drafts/{id}", $"/drafts/{draftId}", http, status: 404);

        // A route added to the document must be added here too (with its ids), or this fails.
        Assert.Equal(DocumentedRoutes(), new SortedSet<string>(exercised));
    }

    private static async Task<JsonElement> CheckBodyAsync(string path, string method, HttpResponseMessage response)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{method.ToUpperInvariant()} {path}: {(int)response.StatusCode} {text}");
        var (_, pointer) = DocumentedResponse(path, method, 200);
        var json = JsonDocument.Parse(text).RootElement;
        var results = SchemaAt($"{pointer}/content/application~1json/schema").Evaluate(json, new EvaluationOptions { OutputFormat = OutputFormat.List });
        Assert.True(results.IsValid, $"{method.ToUpperInvariant()} {path}: the answer does not match the document: " +
            string.Join("; ", (results.Details ?? []).Where(d => d.Errors is { Count: > 0 }).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}"))));
        return json;
    }

    [Fact]
    public async Task Every_documented_query_parameter_is_accepted()
    {
        using var http = host.Client(host.A.Token);
        using var app = host.AppClient();
        string messageId = (await (await http.GetAsync("/messages?view=ids&limit=1")).Content.ReadFromJsonAsync<string[]>())![0];
        var checkedCount = 0;
        foreach (var path in Document.GetProperty("paths").EnumerateObject())
        {
            if (!path.Value.TryGetProperty("get", out var get) || !get.TryGetProperty("parameters", out var parameters)) continue;
            string url = path.Name.Replace("{client_id}", host.ClientId);
            if (path.Name == "/messages/{id}") url = url.Replace("{id}", messageId);
            if (url.Contains('{')) continue; // other objects' ids: their routes have only limit/offset/view, seen on the lists
            if (path.Name == "/labels") continue; // a folder account's /labels is a 404 (see the route test above)
            foreach (var p in parameters.EnumerateArray())
            {
                var parameter = Resolve(p);
                if (parameter.GetProperty("in").GetString() != "query") continue;
                string name = parameter.GetProperty("name").GetString()!;
                string query = $"{name}={Uri.EscapeDataString(SampleValue(name, parameter.GetProperty("schema")))}";
                if (name != "q" && path.Name.EndsWith("/search")) query += "&q=budget";
                // The change feed needs a cursor, and its long requests a short timeout.
                if (name != "cursor" && path.Name.StartsWith("/delta")) query += "&cursor=0";
                if (name != "timeout" && path.Name is "/delta/longpoll" or "/delta/streaming") query += "&timeout=1";
                using var response = await (path.Name.StartsWith("/a/") ? app : http).GetAsync($"{url}?{query}");
                string text = await response.Content.ReadAsStringAsync();
                Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {url}?{query}: {(int)response.StatusCode} {text}");
                checkedCount++;
            }
        }
        Assert.True(checkedCount > 40, $"only {checkedCount} parameters checked");
    }

    private static JsonElement Resolve(JsonElement parameter)
        => parameter.TryGetProperty("$ref", out var r)
            ? Document.GetProperty("components").GetProperty("parameters").GetProperty(r.GetString()!.Split('/').Last())
            : parameter;

    /// <summary>A valid value of the parameter's type (or enum) for this mailbox.</summary>
    private static string SampleValue(string name, JsonElement schema)
    {
        if (schema.TryGetProperty("enum", out var values)) return values[0].GetString()!;
        return schema.TryGetProperty("type", out var type) ? type.GetString() switch
        {
            "integer" => name.EndsWith("_before") ? "2000000000" : "1",
            "boolean" => "true",
            "array" => "alice@example.org",
            _ => name switch
            {
                "in" => "inbox",
                "cursor" => "0",
                "include_types" or "exclude_types" => "message",
                "q" => "budget",
                "metadata_pair" => "key1:value",
                "email" or "from" or "to" or "cc" or "bcc" => "alice@example.org",
                _ => "0000000000000000000000000",
            },
        } : throw new InvalidOperationException($"parameter {name} has no type");
    }
}
