@echo off
rem The `tracked` command of the installed app on Windows: runs the command line (<resources>\cli) with the
rem app's own executable as Node. Put this folder on the PATH (README "Command line"). TRACKED_ELECTRON names
rem the executable to use instead (any Node >= 20 works too).
setlocal
set "RES=%~dp0..\.."
set "EXE=%TRACKED_ELECTRON%"
if not defined EXE set "EXE=%RES%\..\trackED.exe"
if not exist "%EXE%" (
  echo tracked: the trackED executable was not found: %EXE% 1>&2
  exit /b 1
)
set "ELECTRON_RUN_AS_NODE=1"
"%EXE%" "%RES%\cli\run.mjs" %*
exit /b %ERRORLEVEL%
