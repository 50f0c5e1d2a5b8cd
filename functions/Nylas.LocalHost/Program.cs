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
            default:
                Console.Error.WriteLine($"unknown admin command '{args[0]}'\n{Usage}");
                return 2;
        }
    }
}
