using Nylas.Engine;
using Nylas.Engine.Accounts;
using Nylas.LocalHost;

// `Nylas.LocalHost` serves the API; `Nylas.LocalHost admin <command>` runs an admin command against the same configuration.
if (args.Length > 0 && args[0] == "admin")
    return await AdminCommands.RunAsync(args[1..]);

var app = LocalHostApp.Build(args);
await app.Services.PrepareStorageAsync();
await app.RunAsync();
return 0;

internal static class AdminCommands
{
    private const string Usage = """
        usage: Nylas.LocalHost admin <command>
          create-app --name NAME   create an application; prints NYLAS_CLIENT_ID=… and NYLAS_CLIENT_SECRET=… (the secret is shown once)
          migrate                  apply database migrations and create storage containers/queues
          reseal                   re-seal every stored secret with Nylas:Security:EncryptionKey (after a key rotation; see README)
          poison list [--queue ingest|webhooks] [--max N]
                                   the work the delivery policy parked (the poison queue / dead-letter sub-queue), oldest first
          poison replay [--queue ingest|webhooks] (--all | ID...)
                                   put parked work back on its queue (and out of the poison queue)
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            Console.Error.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddNylasEngine(builder.Configuration);
        using var host = builder.Build();
        await host.Services.PrepareStorageAsync();

        switch (args[0])
        {
            case "migrate":
                Console.Error.WriteLine("migrations applied");
                return 0;
            case "create-app":
                string name = args.SkipWhile(a => a != "--name").Skip(1).FirstOrDefault() ?? "Default application";
                var (application, secret) = await host.Services.GetRequiredService<AccountStore>().CreateApplicationAsync(name);
                Console.WriteLine($"NYLAS_CLIENT_ID={application.ClientId}");
                Console.WriteLine($"NYLAS_CLIENT_SECRET={secret}");
                return 0;
            case "reseal":
                var counts = await host.Services.GetRequiredService<Nylas.Engine.Security.SecretResealer>().ResealAllAsync();
                foreach (var c in counts) Console.WriteLine($"{c.Table}: {c.Examined} examined, {c.Resealed} re-sealed, {c.AlreadyCurrent} already current, {c.ChangedMeanwhile} changed meanwhile, {c.Unreadable.Count} unreadable{(c.Unreadable.Count > 0 ? " (" + string.Join(", ", c.Unreadable) + ")" : "")}");
                return counts.Any(c => c.Unreadable.Count > 0) ? 1 : 0;
            case "poison":
                return await PoisonCommand.RunAsync(host.Services.GetRequiredService<Nylas.Engine.Hosting.PoisonQueues>(), args[1..], Usage);
            default:
                Console.Error.WriteLine($"unknown admin command '{args[0]}'\n{Usage}");
                return 2;
        }
    }
}

/// <summary><c>admin poison list|replay</c>: an operator's view of every parked message, whichever application it is for.</summary>
internal static class PoisonCommand
{
    public static async Task<int> RunAsync(Nylas.Engine.Hosting.PoisonQueues poison, string[] args, string usage)
    {
        string Option(string name, string fallback) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() ?? fallback;
        string queue = Option("--queue", Nylas.Engine.Hosting.PoisonQueues.Ingest);
        if (args.Length == 0 || !Nylas.Engine.Hosting.PoisonQueues.Names.Contains(queue))
        {
            Console.Error.WriteLine(usage);
            return 2;
        }
        switch (args[0])
        {
            case "list":
                if (!int.TryParse(Option("--max", "32"), out int max) || max < 1)
                {
                    Console.Error.WriteLine("--max must be a positive number");
                    return 2;
                }
                var listed = await poison.ListAsync(queue, max, CancellationToken.None);
                Console.Error.WriteLine($"{queue}: {(await poison.CountAsync(queue, CancellationToken.None))?.ToString() ?? "?"} parked; showing {listed.Count}");
                foreach (var p in listed)
                    Console.WriteLine($"{p.Id}\tdeliveries={p.DeliveryCount}\taccounts={string.Join(',', p.AccountIds)}\t{p.ParkedAt:u}\t{p.Reason}");
                return 0;
            case "replay":
                bool all = args.Contains("--all");
                var ids = args.Skip(1).Where((a, i) => !a.StartsWith("--", StringComparison.Ordinal) && args.Skip(1).ElementAtOrDefault(i - 1) is not ("--queue")).ToHashSet(StringComparer.Ordinal);
                if (all == (ids.Count > 0))
                {
                    Console.Error.WriteLine("poison replay: give --all or the ids to replay (from poison list)");
                    return 2;
                }
                var replayed = await poison.ReplayAsync(queue, (p, _) => Task.FromResult(all || ids.Contains(p.Id)), CancellationToken.None);
                foreach (var p in replayed) Console.WriteLine($"replayed {p.Id}");
                Console.Error.WriteLine($"{queue}: {replayed.Count} replayed");
                return !all && replayed.Count < ids.Count ? 1 : 0;
            default:
                Console.Error.WriteLine(usage);
                return 2;
        }
    }
}
