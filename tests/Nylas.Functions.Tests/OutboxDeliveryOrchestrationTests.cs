using System.Security.Cryptography;
using MailKit;
using MailKit.Search;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MimeKit;
using MimeKit.Utils;
using Nylas.Core.Connect;
using Nylas.Engine;
using Nylas.Engine.Accounts;
using Nylas.Engine.Hosting;
using Nylas.Engine.Outbox;
using Nylas.Engine.Storage;
using Nylas.Testing;
using Xunit;

namespace Nylas.Functions.Tests;

/// <summary>
/// The outbox's delivery orchestration of the task registry both hosts use, in the DurableTask test host, with the real
/// attempt activity against MariaDB, Azurite and Postfix: it sends when due, a cancel ends its wait without an attempt,
/// and a send time moved earlier cuts its wait short.
/// </summary>
public sealed class OutboxDeliveryOrchestrationTests : IAsyncLifetime
{
    private ServiceProvider _services = null!;
    private DurableTaskTestHost _durable = null!;
    private TestDatabases _databases = null!;

    public async Task InitializeAsync()
    {
        _databases = await TestStack.CreateDatabasesAsync();
        var settings = _databases.EngineSettings();
        settings["Nylas:Storage:IngestQueue"] = "ingest-" + Guid.NewGuid().ToString("N")[..12];
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        _services = new ServiceCollection()
            .AddLogging(l => l.SetMinimumLevel(LogLevel.Warning))
            .AddNylasEngine(configuration)
            .AddDurableSyncControl(_ => () => _durable.Client)
            .BuildServiceProvider();
        await _services.PrepareStorageAsync();
        var delivery = _services.GetRequiredService<OutboxDelivery>();
        _durable = await DurableTaskTestHost.StartAsync(EngineTasks.Register, new DurableTaskTestHostOptions
        {
            // Its default is a random port in 30000-40000, where the test stack's own ports are.
            Port = FreePorts.Next(),
            LoggerFactory = LoggerFactory.Create(l => l.SetMinimumLevel(LogLevel.Warning)),
            ConfigureServices = worker => worker.AddSingleton(delivery),
        });
    }

    public async Task DisposeAsync()
    {
        await _durable.DisposeAsync();
        await _services.DisposeAsync();
    }

    private async Task<Account> ConnectWithSmtpAsync(string email)
    {
        using (var imap = await TestStack.ConnectImapAsync(email)) await imap.DisconnectAsync(true);
        var store = _services.GetRequiredService<AccountStore>();
        var (app, _) = await store.CreateApplicationAsync("outbox orchestration tests");
        var imapServer = new ImapServer(TestStack.ImapHost, TestStack.ImapsPort, ImapSecurity.Ssl, email, TestStack.TlsCertSha256());
        var smtp = new SmtpServer(TestStack.ImapHost, TestStack.SubmissionPort, MailSecurity.StartTls, email, TestStack.TlsCertSha256());
        var (account, _) = await store.UpsertAccountAsync(app.Id, email, "Outbox", "imap", imapServer,
            new AccountSecrets(TestStack.ImapPassword, SmtpPassword: TestStack.ImapPassword), smtp: smtp);
        return account;
    }

    /// <summary>An item stored and its delivery started, as POST /outbox does.</summary>
    private async Task<OutboxItem> ScheduleAsync(Account account, string to, string subject, DateTime sendAt)
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Outbox", account.EmailAddress));
        message.To.Add(MailboxAddress.Parse(to));
        message.Subject = subject;
        message.MessageId = MimeUtils.GenerateMessageId("example.com");
        message.Body = new TextPart("plain") { Text = subject };
        message.Headers.Remove(HeaderId.Date);
        using var mime = new MemoryStream();
        await message.WriteToAsync(mime);
        string sha = Convert.ToHexStringLower(SHA256.HashData(mime.ToArray()));
        mime.Position = 0;
        await _services.GetRequiredService<RawMailStore>().PutAsync(sha, mime);
        var scheduler = _services.GetRequiredService<OutboxScheduler>();
        return await _services.GetRequiredService<OutboxStore>().CreateAsync(account.ShardId, account.Id,
            new OutboxMessageContent("{}", sha, message.MessageId), sendAt, sendAt.AddHours(1), item => scheduler.StartAsync(item, CancellationToken.None),
            CancellationToken.None);
    }

    private async Task<string> CompletionAsync(OutboxItem item, TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        var done = await _durable.Client.WaitForInstanceCompletionAsync(OutboxScheduler.InstanceId(item.PublicId), getInputsAndOutputs: true, timeout.Token);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        return done.ReadOutputAs<string>()!;
    }

    private static async Task<int> CountAsync(string user, string subject)
    {
        using var client = await TestStack.ConnectImapAsync(user);
        await client.Inbox.OpenAsync(FolderAccess.ReadOnly);
        int count = (await client.Inbox.SearchAsync(SearchQuery.SubjectContains(subject))).Count;
        await client.DisconnectAsync(true);
        return count;
    }

    [Fact]
    public async Task Sends_when_due_ends_at_a_cancel_without_an_attempt_and_follows_a_send_time_moved_earlier()
    {
        var account = await ConnectWithSmtpAsync(TestStack.NewMailbox("oo"));
        string receiver = TestStack.NewMailbox("oor");
        using (var imap = await TestStack.ConnectImapAsync(receiver)) await imap.DisconnectAsync(true);
        var store = _services.GetRequiredService<OutboxStore>();
        var scheduler = _services.GetRequiredService<OutboxScheduler>();
        var now = DateTime.UtcNow;

        var due = await ScheduleAsync(account, receiver, $"Due {Guid.NewGuid():N}", now.AddSeconds(2));
        var cancelled = await ScheduleAsync(account, receiver, $"Cancelled {Guid.NewGuid():N}", now.AddMinutes(10));
        var moved = await ScheduleAsync(account, receiver, $"Moved {Guid.NewGuid():N}", now.AddMinutes(10));

        Assert.Equal(OutboxStates.Sent, await CompletionAsync(due, TimeSpan.FromSeconds(60)));
        var sent = (await store.FindAsync(account.ShardId, account.Id, due.PublicId, CancellationToken.None))!;
        Assert.Equal(OutboxStates.Sent, sent.State);
        Assert.Equal(1, sent.Attempts);
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await CountAsync(receiver, "Due") == 1, TimeSpan.FromSeconds(60)));

        // Ten minutes ahead: only the event can end these waits within the test's time.
        Assert.True((await store.CancelAsync(account.ShardId, account.Id, cancelled.PublicId, CancellationToken.None))!.Value.Changed);
        await scheduler.NotifyAsync(cancelled.PublicId, null, CancellationToken.None);
        Assert.Equal(OutboxStates.Cancelled, await CompletionAsync(cancelled, TimeSpan.FromSeconds(30)));
        Assert.Equal(0, (await store.FindAsync(account.ShardId, account.Id, cancelled.PublicId, CancellationToken.None))!.Attempts);

        var earlier = DateTime.UtcNow.AddSeconds(2);
        var updated = (await store.UpdateScheduledAsync(account.ShardId, account.Id, moved.PublicId, earlier, null, null, CancellationToken.None))!.Value;
        await scheduler.NotifyAsync(moved.PublicId, updated.Item.NextAttemptAt, CancellationToken.None);
        Assert.Equal(OutboxStates.Sent, await CompletionAsync(moved, TimeSpan.FromSeconds(60)));
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await CountAsync(receiver, "Moved") == 1, TimeSpan.FromSeconds(60)));
        Assert.Equal(0, await CountAsync(receiver, "Cancelled"));
    }
}
