using System.Diagnostics;
using System.Runtime.InteropServices;

namespace SegmentEngine.Hosting.Postgres;

/// <summary>Runs a command, optionally as another OS user, and captures its output.</summary>
internal static partial class ProcessRunner
{
    /// <summary>True when this process runs with effective user id 0.</summary>
    public static bool IsRoot => OperatingSystem.IsLinux() && GetEffectiveUserId() == 0;

    /// <summary>Runs <paramref name="file"/> (as <paramref name="asUser"/> through runuser when given) and returns exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(
        string file, IReadOnlyList<string> arguments, string? asUser, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = "/",
        };
        if (asUser is null)
        {
            info.FileName = file;
            foreach (var argument in arguments)
            {
                info.ArgumentList.Add(argument);
            }
        }
        else
        {
            info.FileName = File.Exists("/usr/sbin/runuser") ? "/usr/sbin/runuser" : "runuser";
            info.ArgumentList.Add("-u");
            info.ArgumentList.Add(asUser);
            info.ArgumentList.Add("--");
            info.ArgumentList.Add(file);
            foreach (var argument in arguments)
            {
                info.ArgumentList.Add(argument);
            }
        }

        using var process = new Process { StartInfo = info };
        process.Start();
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(timeoutSource.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'{Path.GetFileName(file)}' did not finish within {timeout.TotalSeconds:0} s.");
        }

        var output = (await stdout.ConfigureAwait(false)) + (await stderr.ConfigureAwait(false));
        return (process.ExitCode, output.Trim());
    }

    /// <summary>Runs a command and throws with its output when it fails.</summary>
    public static async Task<string> RunCheckedAsync(
        string file, IReadOnlyList<string> arguments, string? asUser, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var (exitCode, output) = await RunAsync(file, arguments, asUser, timeout, cancellationToken).ConfigureAwait(false);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"'{Path.GetFileName(file)} {string.Join(' ', arguments)}' failed with exit code {exitCode}: {output}");
        }

        return output;
    }

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEffectiveUserId();
}
