using Nylas.Testing;

namespace Nylas.SyncBench;

/// <summary>Command line of the benchmark.</summary>
public sealed record BenchOptions(
    int Messages,
    string Corpus,
    string? ResultsPath,
    int TimeoutMinutes,
    int IdleSeconds,
    int BaselineRuns,
    int IncrementalRuns,
    bool RaceCheck,
    bool Help,
    bool Peers,
    IReadOnlyList<KeyValuePair<string, string>> Settings,
    int SettleSeconds = 0,
    bool WarmHost = false)
{
    public const string Usage = """
        usage: dotnet run -c Release --project bench/Nylas.SyncBench -- [options]

          --messages N         messages in the benchmark mailbox (default 20000)
          --corpus PATH        real-world message corpus (default $NYLAS_TEST_CORPUS, else /work/shared/corpus)
          --results PATH       Markdown results file (default bench/results/sync.md, with --peers
                               bench/results/peers.md, under the repository root; "-" writes none)
          --timeout-minutes M  give up waiting for the end-to-end sync after M minutes (default 60)
          --idle-seconds S     Nylas:Sync:IdleSeconds of the host under test (default 10)
          --baseline-runs R    measured baseline passes over the whole mailbox (default 3, median reported)
          --incremental-runs R measured no-change cycles per mode (default 5, median reported)
          --no-race-check      skip the experiment run after the figures (changes made on the server
                               while ingest lags behind the sync step)
          --peers              the peer comparison (bench/peers.sh): after the raw fetch, mbsync + notmuch new
                               and mbsync + mu index on the same mailbox, then the product end to end and the
                               mirror check (no incremental cycles, experiment or storage probe); results in
                               bench/results/peers.md. Needs mbsync, notmuch and mu on the PATH
          --settle-seconds S   wait S seconds after the host under test has started before connecting the
                               account (default 0): a user connects to a host that is already running, its
                               durable worker and queue pumps started and idle
          --warm-host          after the first mailbox, seed a second one of the same size and connect it to the
                               same host: the end-to-end figures again for a host whose code is compiled and
                               tiered up (a host that has run for a while, as the one Azure bills), with its
                               own mirror check
          --set KEY=VALUE      a setting of the host under test (repeatable), e.g.
                               --set Nylas:Storage:BlobStore=FileSystem

        Needs the test stack: ./dev test --services-only, then export the NYLAS_TEST_* variables it prints.
        """;

    public static BenchOptions Parse(string[] args)
    {
        int messages = 20_000, timeout = 60, idle = 10, baselineRuns = 3, incrementalRuns = 5, settle = 0;
        string corpus = Environment.GetEnvironmentVariable("NYLAS_TEST_CORPUS") is { Length: > 0 } c ? c : "/work/shared/corpus";
        string? results = null;
        bool help = false, race = true, peers = false, warm = false;
        var settings = new List<KeyValuePair<string, string>>();
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{a} needs a value");
            int Int(int min, int max)
            {
                string v = Value();
                return int.TryParse(v, out int n) && n >= min && n <= max ? n : throw new ArgumentException($"{a} must be an integer in [{min}, {max}], not '{v}'");
            }
            switch (a)
            {
                case "--messages": messages = Int(100, 1_000_000); break;
                case "--corpus": corpus = Value(); break;
                case "--results": results = Value(); break;
                case "--timeout-minutes": timeout = Int(1, 24 * 60); break;
                case "--idle-seconds": idle = Int(1, 1800); break;
                case "--baseline-runs": baselineRuns = Int(1, 20); break;
                case "--incremental-runs": incrementalRuns = Int(1, 100); break;
                case "--no-race-check": race = false; break;
                case "--settle-seconds": settle = Int(0, 600); break;
                case "--peers": peers = true; break;
                case "--warm-host": warm = true; break;
                case "--set": settings.Add(SettingArgument.Parse(a, Value())); break;
                case "-h" or "--help": help = true; break;
                default: throw new ArgumentException($"unknown argument '{a}'");
            }
        }
        return new BenchOptions(messages, corpus, results, timeout, idle, baselineRuns, incrementalRuns, race, help, peers, settings, settle, warm);
    }
}

/// <summary>A server of the test stack is not reachable.</summary>
public sealed class StackUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
