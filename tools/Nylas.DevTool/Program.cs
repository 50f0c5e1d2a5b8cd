using System.Globalization;
using Nylas.DevTool.Api;
using Nylas.DevTool.DemoMail;

namespace Nylas.DevTool;

internal static class Program
{
    private const string Usage =
        """
        Nylas.DevTool - sets up the local demo mailbox for ./dev

        Usage: Nylas.DevTool <command> [options]

        Commands:
          seed          Upload the generated demo mailbox over IMAP (does nothing if INBOX is not empty).
          connect       Connect the mailbox as an account via POST {api}/a/{client-id}/accounts and
                        store NYLAS_ACCESS_TOKEN / NYLAS_ACCOUNT_ID in the --state file.
          wait-synced   Wait until GET {api}/messages?view=count reaches the number of INBOX messages.
          demo          seed, then connect, then wait-synced.

        Options:
          --api URL             Base URL of the API, e.g. http://127.0.0.1:5080     (connect, wait-synced)
          --client-id ID        Application client id                               (connect)
          --client-secret S     Application client secret                           (connect)
          --imap-host HOST      IMAP server host [127.0.0.1]
          --imap-port N         Plain IMAP port used by this tool [1143]
          --imaps-port N        IMAPS port the API is told to use [1993]            (connect)
          --cert FILE           PEM certificate of the IMAPS server, pinned by SHA-256 (connect)
          --user EMAIL          Mailbox login and e-mail address
          --password PW         Mailbox password
          --name NAME           Display name of the user [Demo User]
          --state FILE          KEY=value file to read and update (written with mode 600)
          --token TOKEN         Access token for wait-synced (default: NYLAS_ACCESS_TOKEN from --state)
          --timeout SECONDS     How long wait-synced waits [120]
          -h, --help            Show this help

        Progress goes to stderr; KEY=value results go to the --state file, or to stdout without one.
        Exit codes: 0 success, 1 failure, 2 bad usage, 130 interrupted.
        """;

    private static readonly string[] Commands = ["seed", "connect", "wait-synced", "demo"];

    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0)
        {
            Console.Error.Write(Usage);
            return 2;
        }
        if (args[0] is "help" || args.Any(a => a is "-h" or "--help"))
        {
            Console.Out.Write(Usage);
            return 0;
        }

        Options options;
        try
        {
            options = Options.Parse(args);
        }
        catch (UsageException ex)
        {
            Console.Error.WriteLine($"error: {ex.Message} (see --help)");
            return 2;
        }

        // Ctrl+C cancels the running step cleanly; a second Ctrl+C kills the process.
        using var cancellation = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            if (cancellation.IsCancellationRequested)
                return;
            e.Cancel = true;
            cancellation.Cancel();
        };

        try
        {
            await RunAsync(options, cancellation.Token);
            return 0;
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            Console.Error.WriteLine("error: interrupted");
            return 130;
        }
        catch (ToolException ex)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return 1;
        }
        catch (Exception ex)
        {
            // Unexpected: still one line, unless the developer asks for the stack trace.
            Console.Error.WriteLine(Environment.GetEnvironmentVariable("NYLAS_DEVTOOL_DEBUG") is { Length: > 0 }
                ? $"error: {ex}"
                : $"error: {ex.GetType().Name}: {ex.Message} (set NYLAS_DEVTOOL_DEBUG=1 for details)");
            return 1;
        }
    }

    private static async Task RunAsync(Options options, CancellationToken ct)
    {
        switch (options.Command)
        {
            case "seed":
                await Seeder.SeedAsync(options.Imap, options.Name, ct);
                break;
            case "connect":
            {
                using var api = new ApiClient(options.Api!);
                var account = await ConnectAsync(api, options, ct);
                if (options.StatePath is null) PrintResults(account); // with --state the token goes only to that file, never to a log
                break;
            }
            case "wait-synced":
            {
                using var api = new ApiClient(options.Api!);
                await SyncWaiter.WaitAsync(api, options.Token!, options.Imap, options.Timeout, ct);
                break;
            }
            case "demo":
            {
                await Seeder.SeedAsync(options.Imap, options.Name, ct);
                using var api = new ApiClient(options.Api!);
                var account = await ConnectAsync(api, options, ct);
                await SyncWaiter.WaitAsync(api, account.AccessToken, options.Imap, options.Timeout, ct);
                if (options.StatePath is null) PrintResults(account); // with --state the token goes only to that file, never to a log
                break;
            }
        }
    }

    private static async Task<ConnectedAccount> ConnectAsync(ApiClient api, Options options, CancellationToken ct)
    {
        var state = options.StatePath is null ? null : StateFile.Load(options.StatePath);
        var settings = new ConnectSettings(
            options.ClientId!, options.ClientSecret!, options.User!, options.Name,
            options.ImapHost, options.ImapsPort, options.Password!, options.CertPath!);

        var account = await AccountConnector.ConnectAsync(
            api, settings, state?.Get(StateKeys.AccessToken), state?.Get(StateKeys.AccountId), ct);

        if (state is not null)
        {
            state.Set(StateKeys.AccessToken, account.AccessToken);
            state.Set(StateKeys.AccountId, account.AccountId);
            state.Save();
            Log.Info($"wrote {StateKeys.AccessToken} and {StateKeys.AccountId} to {options.StatePath}");
        }
        return account;
    }

    /// <summary>The machine-readable result when there is no --state file: exactly the lines that file would get.</summary>
    private static void PrintResults(ConnectedAccount account)
    {
        Console.Out.WriteLine($"{StateKeys.AccessToken}={account.AccessToken}");
        Console.Out.WriteLine($"{StateKeys.AccountId}={account.AccountId}");
    }

    private static class StateKeys
    {
        public const string AccessToken = "NYLAS_ACCESS_TOKEN";
        public const string AccountId = "NYLAS_ACCOUNT_ID";
    }

    private sealed class UsageException(string message) : Exception(message);

    /// <summary>Command-line options; parsed by hand since there are only a handful.</summary>
    private sealed class Options
    {
        public required string Command { get; init; }
        public Uri? Api { get; private set; }
        public string? ClientId { get; private set; }
        public string? ClientSecret { get; private set; }
        public string ImapHost { get; private set; } = "127.0.0.1";
        public int ImapPort { get; private set; } = 1143;
        public int ImapsPort { get; private set; } = 1993;
        public string? CertPath { get; private set; }
        public string? User { get; private set; }
        public string? Password { get; private set; }
        public string Name { get; private set; } = "Demo User";
        public string? StatePath { get; private set; }
        public string? Token { get; private set; }
        public TimeSpan Timeout { get; private set; } = TimeSpan.FromSeconds(120);

        public ImapSettings Imap => new(ImapHost, ImapPort, User!, Password!);

        public static Options Parse(string[] args)
        {
            var command = args[0];
            if (!Commands.Contains(command))
                throw new UsageException($"unknown command '{command}'; expected one of {string.Join(", ", Commands)}");

            var options = new Options { Command = command };
            for (var i = 1; i < args.Length; i++)
            {
                var arg = args[i];
                if (!arg.StartsWith("--", StringComparison.Ordinal))
                    throw new UsageException($"unexpected argument '{arg}'");

                // Both "--name value" and "--name=value".
                string name, value;
                var equals = arg.IndexOf('=');
                if (equals > 0)
                {
                    name = arg[2..equals];
                    value = arg[(equals + 1)..];
                }
                else
                {
                    name = arg[2..];
                    if (i + 1 >= args.Length)
                        throw new UsageException($"--{name} needs a value");
                    value = args[++i];
                }
                options.Set(name, value);
            }

            options.Validate();
            return options;
        }

        private void Set(string name, string value)
        {
            switch (name)
            {
                case "api":
                    if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                        throw new UsageException($"--api must be an http(s) URL, got '{value}'");
                    Api = uri;
                    break;
                case "client-id": ClientId = value; break;
                case "client-secret": ClientSecret = value; break;
                case "imap-host": ImapHost = value; break;
                case "imap-port": ImapPort = ParsePort(name, value); break;
                case "imaps-port": ImapsPort = ParsePort(name, value); break;
                case "cert": CertPath = value; break;
                case "user": User = value; break;
                case "password": Password = value; break;
                case "name": Name = value; break;
                case "state": StatePath = value; break;
                case "token": Token = value; break;
                case "timeout":
                    if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || seconds <= 0)
                        throw new UsageException($"--timeout must be a positive number of seconds, got '{value}'");
                    Timeout = TimeSpan.FromSeconds(seconds);
                    break;
                default:
                    throw new UsageException($"unknown option --{name}");
            }
        }

        private static int ParsePort(string name, string value) =>
            int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536
                ? port
                : throw new UsageException($"--{name} must be a TCP port, got '{value}'");

        private void Validate()
        {
            var needsApi = Command is "connect" or "wait-synced" or "demo";
            var needsConnect = Command is "connect" or "demo";
            Require(User, "user");
            Require(Password, "password");
            if (needsApi)
                Require(Api, "api");
            if (needsConnect)
            {
                Require(ClientId, "client-id");
                Require(ClientSecret, "client-secret");
                Require(CertPath, "cert");
            }

            if (Command == "wait-synced" && Token is null)
            {
                // wait-synced on its own picks up the token that connect stored.
                Token = StatePath is null ? null : StateFile.Load(StatePath).Get(StateKeys.AccessToken);
                if (Token is null)
                    throw new UsageException(StatePath is null
                        ? "wait-synced needs --token or a --state file written by connect"
                        : $"no {StateKeys.AccessToken} in {StatePath}; run connect first or pass --token");
            }
        }

        private void Require(object? value, string option)
        {
            if (value is null || value is string { Length: 0 })
                throw new UsageException($"{Command} needs --{option}");
        }
    }
}
