using Nylas.Testing;

namespace Nylas.ApiBench;

/// <summary>Command line of the API benchmark.</summary>
public sealed record BenchOptions(
    string HostDll,
    int Messages,
    int Connections,
    int Threads,
    int Seconds,
    int DeepSeconds,
    int WarmupSeconds,
    bool Experiments,
    bool Keep,
    string? ResultsPath,
    bool Help,
    string? CompareHostDll = null,
    int Rounds = 3,
    IReadOnlyList<KeyValuePair<string, string>>? CompareSettings = null)
{
    public const string Usage = """
        usage: bench/api-bench.sh [options]      (builds, then runs this program; see bench/Nylas.ApiBench/README.md)
               dotnet Nylas.ApiBench.dll --host-dll PATH [options]

          --host-dll PATH      Nylas.LocalHost.dll of a Release build (required)
          --messages N         messages in the benchmark account (default 100000)
          --connections C      wrk connections and SQL workers (default 16)
          --threads T          wrk threads (default 2)
          --seconds S          duration of each measured run of the first pages (default 20)
          --deep-seconds S     duration of each run of the deep pages (default 10; 0 skips them)
          --warmup-seconds S   warm-up per endpoint before measuring (default 30)
          --experiments        also time alternative SQL for the slow parts (10 s each; nothing in the engine changes)
          --keep               keep the benchmark databases (default: dropped at the end)
          --results PATH       Markdown results file (default bench/results/api.md under the repository root; "-" for none)
          --compare-host-dll PATH   instead of the measurements above: a second host build over the same databases, its
                               answers checked byte for byte against the first's, then both loaded in turn on the first
                               pages (--seconds each, --rounds times) for the host's CPU per request
          --rounds N           rounds of --compare-host-dll (default 3)
          --compare-set KEY=VALUE   a setting of the second host only (repeatable): a configuration key
                               (Nylas:Api:X) or an environment variable of the runtime, e.g.
                               DOTNET_TieredPGO=0; pass the same DLL to --compare-host-dll to measure a knob alone

        Needs the test stack (./dev test --services-only, then export the NYLAS_TEST_* variables it prints) and wrk.
        """;

    public static BenchOptions Parse(string[] args)
    {
        string? hostDll = null, results = null, compare = null;
        int rounds = 3;
        int messages = 100_000, connections = 16, threads = 2, seconds = 20, deep = 10, warmup = 30;
        bool experiments = false, keep = false, help = false;
        var compareSettings = new List<KeyValuePair<string, string>>();
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
                case "--host-dll": hostDll = Value(); break;
                case "--messages": messages = Int(1_000, 2_000_000); break;
                case "--connections": connections = Int(1, 512); break;
                case "--threads": threads = Int(1, 64); break;
                case "--seconds": seconds = Int(1, 3600); break;
                case "--deep-seconds": deep = Int(0, 3600); break;
                case "--warmup-seconds": warmup = Int(0, 600); break;
                case "--experiments": experiments = true; break;
                case "--keep": keep = true; break;
                case "--results": results = Value(); break;
                case "--compare-host-dll": compare = Value(); break;
                case "--rounds": rounds = Int(1, 100); break;
                case "--compare-set": compareSettings.Add(SettingArgument.Parse(a, Value())); break;
                case "-h" or "--help": help = true; break;
                default: throw new ArgumentException($"unknown argument '{a}'");
            }
        }
        if (!help && hostDll is null) throw new ArgumentException("--host-dll is required (bench/api-bench.sh builds the host and passes it)");
        if (compareSettings.Count > 0 && compare is null) throw new ArgumentException("--compare-set needs --compare-host-dll");
        if (threads > connections) throw new ArgumentException("--threads must not exceed --connections (wrk needs a connection per thread)");
        return new BenchOptions(hostDll ?? "", messages, connections, threads, seconds, deep, warmup, experiments, keep, results, help, compare, rounds, compareSettings);
    }
}

/// <summary>A server of the test stack is not reachable or a tool is missing.</summary>
public sealed class StackUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
